//! The `linernotes` binary: parses the command line and hands it to the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    linernotes::cli::main(linernotes::cli::Cli::parse())
}
