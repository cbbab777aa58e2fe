from setuptools import find_packages, setup

setup(
    name="minadmm",
    version="0.2.0",
    description="ADMM weight pruning of neural networks (Zhang et al., ECCV 2018) from scratch in NumPy + numba",
    long_description=open("README.md").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["minadmm", "minadmm.*"]),
    package_data={"minadmm.pipeline": ["presets/*.json"]},
    python_requires=">=3.10",
    install_requires=[
        "numpy>=1.24",
        "numba>=0.58",
        "matplotlib>=3.6",
        "tqdm>=4.60",
        "threadpoolctl>=3",
        "joblib>=1.3",
    ],
    extras_require={
        "test": ["pytest>=7", "hypothesis>=6", "jupytext>=1.14", "nbclient>=0.7", "ipykernel>=6"],
        "dask": ["dask[distributed]>=2023.1"],
    },
    entry_points={"console_scripts": ["minadmm=minadmm.cli:main"]},
)
