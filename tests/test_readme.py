"""README.md's example is the code that runs: the trip service is the README's block, verbatim."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_block(heading: str, language: str) -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    return re.search(rf"```{language}\n(.*?)```", section, re.S).group(1)


def test_write_a_service_example_is_the_trip_service():
    assert readme_block("Write a service", "python") == (ROOT / "services/trip/service.py").read_text()


def test_write_a_service_image_entry_is_in_the_dev_image():
    entry = readme_block("Write a service", "toml")
    assert entry in (ROOT / "kernel/images/dev.toml").read_text()


def test_readme_starts_with_the_two_setup_commands():
    text = (ROOT / "README.md").read_text()
    first_block = text.split("## Two commands", 1)[1]
    assert first_block.index("make boot") < first_block.index("make test") < 200


def test_the_bus_block_is_a_valid_image_table_that_states_the_defaults():
    from carnel.kernel.image import BusConfig, parse_image

    block = readme_block("Tuning the bus", "toml")
    image = parse_image(f'[image]\nname = "readme"\n\n{block}', "README.md")
    assert image.bus == BusConfig()
