//! `relutui plot`'s flags. The figures are [`crate::tools::plot`].

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// The flags of `relutui plot`.
#[derive(Debug, Clone, Args)]
pub struct PlotArgs {
    #[command(subcommand)]
    pub figure: Figure,
}

/// Which figure to draw.
#[derive(Debug, Clone, Subcommand)]
pub enum Figure {
    /// Train, validation and test error per epoch, one panel per network, all on one y-scale.
    Errors(LogArgs),
    /// Exact sparsity (fraction of activations exactly 0 on the validation set) per hidden
    /// layer over training, with learning-rate and L1 changes marked.
    Sparsity(LogArgs),
    /// The paper's claims over training: active-set stability under noise and linear-probe
    /// error per hidden layer, one column per network (rectifier beside tanh).
    Claims(LogArgs),
    /// The Figure 3 scatter of a sweep folder: final mean sparsity against test error, one
    /// point per run, coloured by L1 penalty.
    Scatter(ScatterArgs),
    /// Table 1 as grouped bars: the test error of each activation beside the paper's, from the
    /// JSON of the paper command (format in the README).
    Table1(Table1Args),
}

/// Logs to draw, and where.
#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// JSON-lines logs (--log files, or a headless run's stdout); lines that are not epoch lines
    /// are skipped and counted.
    #[arg(value_name = "LOG", required = true)]
    pub logs: Vec<PathBuf>,

    /// The SVG file to write ('-' for stdout) [default: the figure's name, e.g. errors.svg].
    #[arg(short, long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Width of the figure in pixels (the text stays readable down to 600 px wide).
    #[arg(long, value_name = "PX", default_value_t = 960, value_parser = parse_width)]
    pub width: u32,
}

/// A sweep folder to draw.
#[derive(Debug, Clone, Args)]
pub struct ScatterArgs {
    /// The sweep's --out-dir: every *.jsonl in it is one run.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,

    /// The SVG file to write ('-' for stdout) [default: figure3.svg].
    #[arg(short, long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Width of the figure in pixels.
    #[arg(long, value_name = "PX", default_value_t = 960, value_parser = parse_width)]
    pub width: u32,
}

/// The paper command's JSON to draw.
#[derive(Debug, Clone, Args)]
pub struct Table1Args {
    /// The JSON written by the paper command (an object with "rows", or the last JSON line of
    /// its output).
    #[arg(value_name = "JSON")]
    pub json: PathBuf,

    /// The SVG file to write ('-' for stdout) [default: table1.svg].
    #[arg(short, long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Width of the figure in pixels.
    #[arg(long, value_name = "PX", default_value_t = 960, value_parser = parse_width)]
    pub width: u32,
}

fn parse_width(s: &str) -> Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(w) if (400..=8000).contains(&w) => Ok(w),
        Ok(_) => Err("must be between 400 and 8000 pixels".into()),
        Err(_) => Err(format!("'{s}' is not a whole number of pixels")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_are_checked() {
        assert!(parse_width("600").is_ok());
        assert!(parse_width("10").unwrap_err().contains("between"));
        assert!(parse_width("wide").is_err());
    }
}
