//! Dev-only tools of the wheels xtask, kept out of what a project copies as its product: the
//! stand-in images for the pypa manylinux images, which the docker tests and benchmarks run
//! in on machines that reach no container registry.

pub mod standin;
