//! Bounded histories for the dashboard's charts and sparklines.
//!
//! A run left overnight must not grow without end, so every history here has a fixed
//! capacity. [`Series`] keeps the whole run at a coarser and coarser resolution (neighbouring
//! points are merged in pairs when it fills up); [`Recent`] keeps only the newest values.

use std::collections::VecDeque;

/// A series of `(x, y)` points covering the whole run in at most `capacity` points.
///
/// While there is room every push is its own point. When the series is full, neighbouring
/// points are merged pairwise into their means and from then on each stored point stands for
/// twice as many pushes, so old and new parts of the run keep the same resolution.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    capacity: usize,
    points: Vec<(f64, f64)>,
    /// Pushes that one stored point stands for.
    per_point: usize,
    /// Pushes folded into the last point so far.
    in_last: usize,
}

impl Series {
    /// A series of at most `capacity` points (raised to an even number of at least 2).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(2).next_multiple_of(2);
        Self {
            capacity,
            points: Vec::with_capacity(capacity),
            per_point: 1,
            in_last: 0,
        }
    }

    pub fn push(&mut self, x: f64, y: f64) {
        if self.in_last > 0 && self.in_last < self.per_point {
            // Fold into the open point as a running mean.
            let n = self.in_last as f64;
            if let Some(last) = self.points.last_mut() {
                last.0 = (last.0 * n + x) / (n + 1.0);
                last.1 = (last.1 * n + y) / (n + 1.0);
            }
            self.in_last += 1;
            return;
        }
        if self.points.len() == self.capacity {
            self.compact();
        }
        self.points.push((x, y));
        self.in_last = 1;
    }

    /// Merges neighbouring points in place; every point is full when this runs.
    fn compact(&mut self) {
        let half = self.points.len() / 2;
        for i in 0..half {
            let (a, b) = (self.points[2 * i], self.points[2 * i + 1]);
            self.points[i] = (f64::midpoint(a.0, b.0), f64::midpoint(a.1, b.1));
        }
        self.points.truncate(half);
        self.per_point *= 2;
        self.in_last = self.per_point;
    }

    pub fn points(&self) -> &[(f64, f64)] {
        &self.points
    }

    pub fn last(&self) -> Option<(f64, f64)> {
        self.points.last().copied()
    }

    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The most points this series will ever hold.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Pushes one stored point stands for (1 until the series first fills up).
    pub fn per_point(&self) -> usize {
        self.per_point
    }

    pub fn clear(&mut self) {
        self.points.clear();
        self.per_point = 1;
        self.in_last = 0;
    }
}

/// The newest `capacity` values; older ones are forgotten.
#[derive(Debug, Clone, PartialEq)]
pub struct Recent<T> {
    capacity: usize,
    items: VecDeque<T>,
}

impl<T> Recent<T> {
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            capacity,
            items: VecDeque::with_capacity(capacity),
        }
    }

    pub fn push(&mut self, item: T) {
        if self.items.len() == self.capacity {
            self.items.pop_front();
        }
        self.items.push_back(item);
    }

    /// Oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + ExactSizeIterator {
        self.items.iter()
    }

    /// The newest `n` values (or all of them), oldest first.
    pub fn newest(&self, n: usize) -> impl DoubleEndedIterator<Item = &T> + ExactSizeIterator {
        self.items.range(self.items.len().saturating_sub(n)..)
    }

    pub fn last(&self) -> Option<&T> {
        self.items.back()
    }

    pub fn last_mut(&mut self) -> Option<&mut T> {
        self.items.back_mut()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn clear(&mut self) {
        self.items.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_every_point_while_there_is_room() {
        let mut s = Series::new(8);
        for i in 0..8 {
            s.push(f64::from(i), f64::from(i * 10));
        }
        assert_eq!(s.len(), 8);
        assert_eq!(s.per_point(), 1);
        assert_eq!(s.points()[3], (3.0, 30.0));
    }

    #[test]
    fn ten_thousand_points_stay_bounded_and_cover_the_whole_run() {
        let mut s = Series::new(256);
        let allocated = s.points.capacity();
        for i in 0..10_000 {
            s.push(f64::from(i), 1.0);
            assert!(s.len() <= 256, "grew to {} after {i} pushes", s.len());
        }
        // No reallocation: the memory is fixed at construction.
        assert_eq!(s.points.capacity(), allocated);
        assert!(s.len() >= 128, "kept only {}", s.len());
        let (first, last) = (s.points()[0].0, s.last().unwrap().0);
        assert!(first < 40.0, "the start of the run is still there: {first}");
        assert!(last > 9_900.0, "the end of the run is there: {last}");
        // Means of constant values stay constant.
        assert!(s.points().iter().all(|p| (p.1 - 1.0).abs() < 1e-12));
        // x stays increasing after many merges.
        assert!(s.points().windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn merging_averages_neighbours() {
        let mut s = Series::new(4);
        for i in 0..5 {
            s.push(f64::from(i), f64::from(i));
        }
        // 0..4 filled it; the fifth push merged to (0.5, 2.5) and opened a new point.
        assert_eq!(s.points(), &[(0.5, 0.5), (2.5, 2.5), (4.0, 4.0)]);
        assert_eq!(s.per_point(), 2);
        s.push(5.0, 5.0);
        assert_eq!(s.points(), &[(0.5, 0.5), (2.5, 2.5), (4.5, 4.5)]);
        s.push(6.0, 6.0);
        assert_eq!(s.len(), 4);
    }

    #[test]
    fn clear_starts_over() {
        let mut s = Series::new(4);
        for i in 0..100 {
            s.push(f64::from(i), 0.0);
        }
        s.clear();
        assert!(s.is_empty());
        assert_eq!(s.per_point(), 1);
        s.push(1.0, 2.0);
        assert_eq!(s.points(), &[(1.0, 2.0)]);
    }

    #[test]
    fn recent_keeps_the_newest() {
        let mut r = Recent::new(3);
        for i in 0..10_000 {
            r.push(i);
        }
        assert_eq!(r.len(), 3);
        assert_eq!(r.iter().copied().collect::<Vec<_>>(), [9_997, 9_998, 9_999]);
        assert_eq!(r.newest(2).copied().collect::<Vec<_>>(), [9_998, 9_999]);
        assert_eq!(r.newest(10).len(), 3);
        assert_eq!(r.last(), Some(&9_999));
    }
}
