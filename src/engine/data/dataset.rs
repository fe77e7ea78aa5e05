//! The examples in memory: a [`Dataset`] keeps the file's bytes and scales them to [0, 1] only
//! when they are copied into a batch or an [`InputBuffer`] chunk; [`Splits`] is one dataset
//! split into train / validation / test.

use std::ops::Range;

use ndarray::{s, Array2, ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2, Axis};

/// Examples and their class labels. The inputs are kept as the file's bytes (one row of `dim`
/// per example), a quarter of their size as `f32`; they are scaled to [0, 1] ([`scale`]) only
/// when copied into a batch or an evaluation chunk ([`Dataset::gather`],
/// [`Dataset::rows_into`], [`InputBuffer`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pixels: Array2<u8>,
    labels: Vec<u8>,
}

/// A stored byte as a network input: `p / 255`, in [0, 1].
#[inline]
pub fn scale(p: u8) -> f32 {
    f32::from(p) / 255.0
}

/// Scales the bytes `src` into `dst` (same length).
fn scale_into(src: ArrayView1<'_, u8>, mut dst: ArrayViewMut1<'_, f32>) {
    dst.zip_mut_with(&src, |d, &p| *d = scale(p));
}

impl Dataset {
    /// Builds a dataset from raw bytes, `dim` bytes per example (`pixels.len()` must be
    /// `labels.len() · dim`).
    pub fn from_bytes(pixels: Vec<u8>, labels: Vec<u8>, dim: usize) -> Self {
        let pixels = Array2::from_shape_vec((labels.len(), dim), pixels)
            .expect("pixel count matches the labels");
        Self { pixels, labels }
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    pub fn dim(&self) -> usize {
        self.pixels.ncols()
    }

    /// The stored bytes, one row per example.
    pub fn pixels(&self) -> ArrayView2<'_, u8> {
        self.pixels.view()
    }

    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// The examples `range`, as a new dataset.
    #[must_use]
    pub fn slice(&self, range: Range<usize>) -> Self {
        Self {
            pixels: self.pixels.slice(s![range.clone(), ..]).to_owned(),
            labels: self.labels[range].to_vec(),
        }
    }

    /// `count` examples spread evenly over the dataset (example `i · len / count` for each
    /// `i < count`), as a new dataset; the whole dataset when it has at most `count`.
    #[must_use]
    pub fn spread(&self, count: usize) -> Self {
        let len = self.len();
        if len <= count {
            return self.clone();
        }
        let rows: Vec<usize> = (0..count).map(|i| i * len / count).collect();
        Self {
            pixels: self.pixels.select(Axis(0), &rows),
            labels: rows.iter().map(|&r| self.labels[r]).collect(),
        }
    }

    /// Scales the examples `rows` into the first rows of `x`.
    pub fn rows_into(&self, rows: Range<usize>, x: &mut ArrayViewMut2<'_, f32>) {
        for (src, dst) in self
            .pixels
            .slice(s![rows, ..])
            .rows()
            .into_iter()
            .zip(x.rows_mut())
        {
            scale_into(src, dst);
        }
    }

    /// The examples `rows`, scaled, as a new array (for one-off uses; loops use an
    /// [`InputBuffer`]).
    pub fn inputs(&self, rows: Range<usize>) -> Array2<f32> {
        let mut x = Array2::zeros((rows.len(), self.dim()));
        self.rows_into(rows, &mut x.view_mut());
        x
    }

    /// Scales the examples `indices` into the first rows of `x` and copies their labels into `y`.
    pub fn gather(&self, indices: &[usize], x: &mut ArrayViewMut2<'_, f32>, y: &mut Vec<u8>) {
        y.clear();
        for (row, &i) in indices.iter().enumerate() {
            scale_into(self.pixels.row(i), x.row_mut(row));
            y.push(self.labels[i]);
        }
    }
}

/// Room for a chunk of up to `capacity` examples as `f32`, refilled from a [`Dataset`]'s bytes
/// for each chunk: evaluation walks a whole split through it without ever scaling the split.
#[derive(Debug, Clone)]
pub struct InputBuffer {
    x: Array2<f32>,
}

impl InputBuffer {
    pub fn new(capacity: usize, dim: usize) -> Self {
        Self {
            x: Array2::zeros((capacity, dim)),
        }
    }

    pub fn capacity(&self) -> usize {
        self.x.nrows()
    }

    /// Values per example.
    pub fn dim(&self) -> usize {
        self.x.ncols()
    }

    /// The examples `rows` of `data` (at most [`InputBuffer::capacity`] of them), scaled.
    pub fn load(&mut self, data: &Dataset, rows: Range<usize>) -> ArrayView2<'_, f32> {
        let n = rows.len();
        assert!(
            n <= self.capacity(),
            "{n} rows exceed the buffer's {}",
            self.capacity()
        );
        data.rows_into(rows, &mut self.x.view_mut());
        self.x.slice(s![..n, ..])
    }
}

/// A dataset split three ways.
#[derive(Debug, Clone, PartialEq)]
pub struct Splits {
    pub name: String,
    pub train: Dataset,
    pub valid: Dataset,
    pub test: Dataset,
    pub classes: usize,
}

impl Splits {
    pub fn input_dim(&self) -> usize {
        self.train.dim()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::data::idx;
    use crate::engine::data::mnist::{mnist10k, MNIST10K_IMAGES};

    /// The conversion the datasets used to apply once at load time, kept here as the reference
    /// that batches and chunks scaled on demand must match bit for bit.
    fn old_f32(pixels: &[u8], dim: usize) -> Array2<f32> {
        Array2::from_shape_vec(
            (pixels.len() / dim, dim),
            pixels.iter().map(|&p| f32::from(p) / 255.0).collect(),
        )
        .unwrap()
    }

    fn bits(x: &ArrayView2<'_, f32>) -> Vec<u32> {
        x.iter().map(|v| v.to_bits()).collect()
    }

    #[test]
    fn spread_takes_examples_evenly_from_the_whole_set() {
        // Example i holds the byte i (and label i % 10): what `spread` keeps is visible.
        let n = 25;
        let data = Dataset::from_bytes(
            (0..n).flat_map(|i| [i as u8, 0]).collect(),
            (0..n).map(|i| (i % 10) as u8).collect(),
            2,
        );
        let five = data.spread(5);
        assert_eq!(five.pixels().column(0).to_vec(), vec![0, 5, 10, 15, 20]);
        assert_eq!(five.labels(), &[0, 5, 0, 5, 0]);
        let seven = data.spread(7);
        assert_eq!(
            seven.pixels().column(0).to_vec(),
            vec![0, 3, 7, 10, 14, 17, 21]
        );
        // At most `count` examples: all of them.
        assert_eq!(data.spread(25).labels(), data.labels());
        assert_eq!(data.spread(100).pixels(), data.pixels());
    }

    #[test]
    fn inputs_are_stored_as_bytes_and_scaled_like_the_old_f32_copy() {
        let s = mnist10k().unwrap();
        // One byte per pixel: n × dim u8, the file's own values.
        let px = s.train.pixels();
        assert_eq!(px.dim(), (8000, 784));
        assert_eq!(std::mem::size_of_val(px.as_slice().unwrap()), 8000 * 784);
        let all = idx::read(MNIST10K_IMAGES, "mnist10k").unwrap().data;
        assert_eq!(
            s.valid.pixels().as_slice().unwrap(),
            &all[8000 * 784..9000 * 784]
        );
        let old = old_f32(px.as_slice().unwrap(), 784);

        // A shuffled mini-batch, into a larger buffer, as the trainer gathers it.
        let indices = [7999, 0, 4321, 17, 17, 2500, 123, 6000, 42, 7000];
        let mut x = Array2::from_elem((12, 784), f32::NAN);
        let mut y = vec![99];
        s.train.gather(&indices, &mut x.view_mut(), &mut y);
        for (row, &i) in indices.iter().enumerate() {
            assert_eq!(
                bits(&x.slice(s![row..=row, ..])),
                bits(&old.slice(s![i..=i, ..]))
            );
        }
        assert!(
            x.slice(s![10.., ..]).iter().all(|v| v.is_nan()),
            "rows past the batch untouched"
        );
        assert_eq!(y, indices.map(|i| s.train.labels()[i]));

        // Evaluation chunks, the last one short, and the one-off copy.
        let mut buf = InputBuffer::new(300, 784);
        for start in (0..8000).step_by(300) {
            let end = (start + 300).min(8000);
            let chunk = buf.load(&s.train, start..end);
            assert_eq!(chunk.nrows(), end - start);
            assert_eq!(bits(&chunk), bits(&old.slice(s![start..end, ..])));
        }
        assert_eq!(
            bits(&s.train.inputs(100..250).view()),
            bits(&old.slice(s![100..250, ..]))
        );

        // Every byte value, not just those in the digits.
        let every: Vec<u8> = (0..=255).collect();
        let d = Dataset::from_bytes(every.clone(), vec![0; 16], 16);
        assert_eq!(
            bits(&d.inputs(0..16).view()),
            bits(&old_f32(&every, 16).view())
        );
        assert!(d.inputs(0..16).iter().all(|v| (0.0..=1.0).contains(v)));
        assert_eq!((scale(0), scale(255)), (0.0, 1.0));
    }

    #[test]
    fn slices_keep_bytes_and_labels() {
        let d = Dataset::from_bytes(vec![0, 255, 51, 102, 153, 204], vec![1, 2, 3], 2);
        let s = d.slice(1..3);
        assert_eq!(s.pixels(), ndarray::array![[51u8, 102], [153, 204]]);
        assert_eq!(s.labels(), &[2, 3]);
        assert_eq!(s.dim(), 2);
    }

    #[test]
    #[should_panic(expected = "exceed")]
    fn a_chunk_larger_than_the_buffer_is_refused() {
        let d = Dataset::from_bytes(vec![0; 8], vec![0; 4], 2);
        let _ = InputBuffer::new(3, 2).load(&d, 0..4);
    }
}
