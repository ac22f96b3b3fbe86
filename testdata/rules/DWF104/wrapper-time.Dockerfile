# want: DWF104 3:1
FROM rust:1.77
RUN time cargo build --release
