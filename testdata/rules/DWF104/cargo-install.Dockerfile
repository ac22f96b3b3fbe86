# want: DWF104 3:1
FROM rust:1.77
RUN cargo install ripgrep
