"""The control commands' answers when the kernel goes away under them."""
from __future__ import annotations

import pytest

from carnel.kernel import cli
from carnel.kernel.tools.session import EXIT_NO_KERNEL, KernelGone


def kernel_gone(*_args):
    raise KernelGone("the kernel at /run closed the connection", EXIT_NO_KERNEL)


def test_shutdown_succeeds_when_the_kernel_is_gone_before_its_answer_is_read(monkeypatch, capsys):
    monkeypatch.setattr(cli, "run_tool", kernel_gone)
    assert cli.main(["--run-dir", "/run", "shutdown"]) == 0
    assert capsys.readouterr().out == "shutdown: the kernel has stopped\n"


@pytest.mark.parametrize("command", [["ps"], ["restart", "trip"]])
def test_other_commands_fail_when_the_kernel_goes(monkeypatch, capsys, command):
    monkeypatch.setattr(cli, "run_tool", kernel_gone)
    assert cli.main(["--run-dir", "/run", *command]) == EXIT_NO_KERNEL
    assert "closed the connection" in capsys.readouterr().err
