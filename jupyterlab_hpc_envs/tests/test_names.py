"""Validation of user input: what is accepted, what is refused, and that refusals say why."""

from __future__ import annotations

import pytest

from jupyterlab_hpc_envs import errors, names

INJECTIONS = [
    "a;rm -rf ~",
    "a$(id)",
    "a`id`",
    "a\nb",
    "a\x00b",
    "a b",
    "../etc",
    "a|b",
    "a&&b",
    "'a'",
    '"a"',
    "a>b",
    "sciеnce",  # Cyrillic е
    "x" * 1000,
]


@pytest.mark.parametrize("name", ["science", "torch-2.1", "my_env", "A1", "a.b"])
def test_a_plain_environment_name_is_accepted(name):
    assert names.env_name(name) == name


@pytest.mark.parametrize("name", [*INJECTIONS, "", " science", "1abc", "a..b", "a.", "adopt"])
def test_an_environment_name_with_anything_else_is_refused_with_a_reason(name):
    with pytest.raises(errors.InvalidInput) as err:
        names.env_name(name)
    assert err.value.field == "name"
    assert err.value.message


@pytest.mark.parametrize(
    "module",
    ["Python/3.11.3-GCCcore-12.3.0", "SciPy-bundle/2023.07-gfbf-2023a", "Java", "a/b/c+d"],
)
def test_module_names_as_module_avail_prints_them_are_accepted(module):
    assert names.module_name(module) == module


@pytest.mark.parametrize("module", [*INJECTIONS, "Python/../../x", "/abs/path", "Python/"])
def test_module_names_that_are_not_module_names_are_refused(module):
    with pytest.raises(errors.InvalidInput):
        names.module_name(module)


def test_a_module_listed_twice_is_refused():
    with pytest.raises(errors.InvalidInput, match="twice"):
        names.module_list(["Python/3.11", "Python/3.11"])


@pytest.mark.parametrize("spec", ["numpy", "numpy>=1.26", "pandas[parquet]==2.1", "a-b_c.d~=1.0"])
def test_requirements_are_accepted_and_normalised(spec):
    assert names.package_spec(spec)


@pytest.mark.parametrize(
    "spec",
    [
        "--index-url=http://evil/simple",
        "-e .",
        "-r /etc/passwd",
        "numpy @ https://example.invalid/numpy.whl",
        "numpy; rm -rf /",
        "numpy\n--extra-index-url x",
        "numpy $(id)",
        "",
    ],
)
def test_pip_options_urls_and_shell_are_refused_as_package_specs(spec):
    with pytest.raises(errors.InvalidInput):
        names.package_spec(spec)


def test_requirements_file_lines_are_parsed_and_options_refused_with_the_line_number():
    assert names.requirements_text("# comment\nnumpy>=1.26  # why\n\nicecream\n") == [
        "numpy>=1.26",
        "icecream",
    ]
    with pytest.raises(errors.InvalidInput, match="Line 2"):
        names.requirements_text("numpy\n--index-url http://x\n")


def test_paths_must_be_absolute_and_free_of_control_characters(tmp_path):
    assert names.clean_path("root", f"{tmp_path}/a/../b") == f"{tmp_path}/b"
    for bad in ["relative/path", f"{tmp_path}\n/x", ""]:
        with pytest.raises(errors.InvalidInput):
            names.clean_path("root", bad)


def test_within_follows_symlinks_out_of_the_root(tmp_path):
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "link").symlink_to(outside)
    assert names.within(str(root / "inside"), str(root))
    assert not names.within(str(root / "link"), str(root))
    assert not names.within(str(tmp_path / "rootx"), str(root))
