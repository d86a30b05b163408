"""pytest anywhere in the repository: nbval's kernels talk over private Unix sockets
(`lab.notebooks.kernel_manager`), never over TCP ports picked by another process's rules, so
`make nbtest` runs the notebooks and their student versions in two processes side by side."""


def pytest_configure(config):
    import nbval.kernel

    from lab.notebooks import kernel_manager

    nbval.kernel.KernelManager = kernel_manager()
