"""The bundled sample models: catalog, loading with integrity checks, and rebuilding."""

from workbench.samples.build import build_sample, rebuild_samples
from workbench.samples.catalog import SAMPLES, SampleSpec, samples_root
from workbench.samples.load import Sample, list_samples, load_sample

__all__ = ["SAMPLES", "Sample", "SampleSpec", "build_sample", "list_samples", "load_sample",
           "rebuild_samples", "samples_root"]
