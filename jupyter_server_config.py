# JupyterLab for this repository (`make lab` passes it with --config; it serves nbs/ from the repository root).
# sts_study.lab (nbs/18_lab.ipynb) says what and why: notebooks are cleaned by nbdev as they are saved (nbdev reads
# `jupyter_hooks = true` from pyproject.toml), keeping only the cell metadata the study needs (papermill's
# `parameters` tag); a parameterised notebook (reproduce.ipynb) run in Lab is saved without outputs and its run, outputs
# and all, goes to its run folder as run.ipynb; notebooks open with the kernel metadata Lab writes, so that opening one
# does not mark it modified. Opening and saving a notebook without editing it leaves git clean.
try: from sts_study import lab as _lab
except ModuleNotFoundError: _lab = None  # the package is not installed: nbdev's own clean, as nbdev installs it

def sts_study_pre_save(model, path, contents_manager, **kwargs):
    if _lab is not None: return _lab.pre_save(model=model, path=path, contents_manager=contents_manager, **kwargs)
    try: from nbdev.clean import clean_jupyter
    except ModuleNotFoundError: return
    import os  # the hook's path is relative to the served folder (--notebook-dir), not to the working directory
    clean_jupyter(path=os.path.join(os.path.abspath(os.path.expanduser(contents_manager.root_dir)), path.strip('/')), model=model)

c.ContentsManager.pre_save_hook = sts_study_pre_save
if _lab is not None: c.ServerApp.contents_manager_class = _lab.contents_manager_class()
