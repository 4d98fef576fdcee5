# JupyterLab for this repository (`make lab` passes it with --config): notebooks are cleaned by nbdev as they are
# saved, keeping only the cell metadata the study needs (papermill's `parameters` tag), so opening and saving a
# notebook without editing it leaves git clean. nbdev reads `jupyter_hooks = true` from pyproject.toml.
def nbdev_clean_jupyter(**kwargs):
    try: from nbdev.clean import clean_jupyter
    except ModuleNotFoundError: return
    clean_jupyter(**kwargs)

c.ContentsManager.pre_save_hook = nbdev_clean_jupyter
