use clap::Parser;

fn main() {
    let cli = driftless::cli::Cli::parse();
    if !cli.debug && std::env::var_os("RUST_BACKTRACE").is_none() {
        std::panic::set_hook(Box::new(|info| {
            eprintln!(
                "driftless: internal error: {info}; this is a bug, please report it \
                 (RUST_BACKTRACE=1 shows where)"
            );
        }));
    }
    std::process::exit(driftless::run(cli).code());
}

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
