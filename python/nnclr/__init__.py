"""nnclr - Python bindings of libnnclr over its public C API (include/nnclr.h), with ctypes.

    import nnclr
    result = nnclr.train(run_dir="runs/fm", epochs=1, progress=print)   # any `nnclr train` key
    model = nnclr.load("runs/fm")            # a run directory or a checkpoint file
    feats = model.embed(images)              # uint8 (N, H, W, C) of any size, or float (N, C, H, W)
    model.export("model.safetensors")        # torchvision names

The library is found through $NNCLR_LIBRARY (a path to libnnclr.so), else the system's loader
(`cmake --install` puts it where that looks)."""
import ctypes
import ctypes.util
import os

import numpy as np

__all__ = ["train", "load", "Model", "NnclrError", "config_keys"]


class NnclrError(RuntimeError):
    """A call into libnnclr failed; the message is the library's."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def _find_library():
    path = os.environ.get("NNCLR_LIBRARY")
    if path:
        return path
    found = ctypes.util.find_library("nnclr")
    if found:
        return found
    for d in ("/usr/local/lib", "/usr/local/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu"):
        p = os.path.join(d, "libnnclr.so")
        if os.path.exists(p):
            return p
    raise ImportError("libnnclr.so not found: install nnclr (cmake --install build) or set NNCLR_LIBRARY")


_lib = ctypes.CDLL(_find_library())
_p, _i, _d, _i64, _s = ctypes.c_void_p, ctypes.c_int, ctypes.c_double, ctypes.c_int64, ctypes.c_char_p


class _Progress(ctypes.Structure):
    _fields_ = [("epoch", _i64), ("epochs", _i64), ("step", _i64), ("total_steps", _i64), ("batch", _i64),
                ("batches", _i64), ("loss", _d), ("lr", _d), ("img_per_s", _d), ("eta_s", _d),
                ("nn_accuracy", _d), ("nn_fraction", _d), ("pos_similarity", _d), ("logged", _i)]


_MESSAGE = ctypes.CFUNCTYPE(None, _p, _s)
_PROGRESS = ctypes.CFUNCTYPE(None, _p, ctypes.POINTER(_Progress))
_STOP = ctypes.CFUNCTYPE(_i, _p)


class _Hooks(ctypes.Structure):
    _fields_ = [("user", _p), ("message", _MESSAGE), ("progress", _PROGRESS), ("should_stop", _STOP)]


class _Result(ctypes.Structure):
    _fields_ = [("steps", _i64), ("train_seconds", _d), ("knn_top1", _d), ("knn_top5", _d), ("pixels_top1", _d),
                ("pixels_top5", _d), ("pixels_best_k_top1", _d), ("linear_top1", _d), ("linear_top5", _d),
                ("stopped", _i), ("stop_code", _i)]


class _Key(ctypes.Structure):
    _fields_ = [("name", _s), ("type", _i), ("offset", ctypes.c_size_t), ("help", _s), ("min", _d), ("max", _d),
                ("choices", _s)]


def _sig(name, res, *args):
    f = getattr(_lib, name)
    f.restype, f.argtypes = res, list(args)
    return f


_last_error = _sig("nnclr_last_error", _s)
_cfg_new = _sig("nnclr_train_config_new", _p, _s)
_cfg_set = _sig("nnclr_train_config_set", _i, _p, _s, _s)
_cfg_free = _sig("nnclr_train_config_free", None, _p)
_cfg_keys = _sig("nnclr_train_config_keys", ctypes.POINTER(_Key), ctypes.POINTER(_i))
_train = _sig("nnclr_train", _i, _p, _s, ctypes.POINTER(_Hooks), ctypes.POINTER(_Result))
_load = _sig("nnclr_model_load", _i, ctypes.POINTER(_p), _s, _i, _p)
_free = _sig("nnclr_model_free", None, _p)
_feature_dim = _sig("nnclr_model_feature_dim", _i, _p)
_features = _sig("nnclr_model_features", _i, _p, ctypes.POINTER(ctypes.c_float), _i, ctypes.POINTER(ctypes.c_float))
_embed_images = _sig("nnclr_embed_images", _i, _p, _p, ctypes.POINTER(ctypes.c_uint8), _i, _i, _i, _i, _i,
                     ctypes.POINTER(ctypes.c_float))
_export = _sig("nnclr_export_safetensors", _i, _p, _p, _s, _i)
_INTERRUPTED = 7


def _check(status):
    if status != 0:
        raise NnclrError(status, _last_error().decode())


def config_keys():
    """The training configuration's keys (the flags of `nnclr train --help`) with their help."""
    n = _i()
    keys = _cfg_keys(ctypes.byref(n))
    return {keys[i].name.decode(): keys[i].help.decode() for i in range(n.value)}


def _config(preset, settings):
    c = _cfg_new(preset.encode())
    if not c:
        raise NnclrError(1, _last_error().decode())
    try:
        for k, v in settings.items():
            if isinstance(v, bool):
                v = "true" if v else "false"
            _check(_cfg_set(c, k.replace("_", "-").encode(), str(v).encode()))
    except Exception:
        _cfg_free(c)
        raise
    return c


def train(preset="small", progress=None, message=None, stop=None, **settings):
    """Runs `nnclr train` in-process. settings: any configuration key (run_dir="runs/x",
    epochs=3, arch="resnet20", ...). progress(dict) after every step, message(str) for the
    library's lines, stop() -> bool to end early (a checkpoint is written). Returns the result
    as a dict; raises NnclrError on failure."""
    c = _config(preset, settings)
    hooks = _Hooks()
    fields = [f for f, _ in _Progress._fields_]
    hooks.message = _MESSAGE((lambda u, line: message(line.decode())) if message else (lambda u, line: None))
    hooks.progress = _PROGRESS((lambda u, p: progress({f: getattr(p.contents, f) for f in fields}))
                               if progress else (lambda u, p: None))
    hooks.should_stop = _STOP((lambda u: int(bool(stop()))) if stop else (lambda u: 0))
    res = _Result()
    try:
        status = _train(c, None, ctypes.byref(hooks), ctypes.byref(res))
    finally:
        _cfg_free(c)
    if status not in (0, _INTERRUPTED):
        _check(status)
    out = {f: getattr(res, f) for f, _ in _Result._fields_}
    out["interrupted"] = status == _INTERRUPTED
    return out


class Model:
    """A trained model loaded from a run directory or checkpoint (eval mode)."""

    def __init__(self, path, batch=256):
        self._cfg = _cfg_new(b"small")
        self._m = _p()
        status = _load(ctypes.byref(self._m), os.fspath(path).encode(), batch, self._cfg)
        if status:
            _cfg_free(self._cfg)
            self._cfg = None
            _check(status)

    @property
    def feature_dim(self):
        return _feature_dim(self._m)

    def embed(self, images, projections=False):
        """Features (N, D) float32 of uint8 images (N, H, W, C) with C 1 or 3, any size (the run's
        eval transform is applied), or of float32 images (N, C, H, W) already prepared as the
        model takes them (projections are not offered for those)."""
        a = np.asarray(images)
        if a.ndim != 4 or a.shape[0] < 1:
            raise ValueError(f"expected a batch of 4-D images, got shape {a.shape}")
        n = a.shape[0]
        if a.dtype == np.uint8:
            a = np.ascontiguousarray(a)
            out = np.empty((n, self._out_dim(projections)), np.float32)
            _check(_embed_images(self._m, self._cfg, a.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8)), n,
                                 a.shape[1], a.shape[2], a.shape[3], int(projections),
                                 out.ctypes.data_as(ctypes.POINTER(ctypes.c_float))))
            return out
        if projections:
            raise ValueError("projections need uint8 images (the eval transform is applied to them)")
        a = np.ascontiguousarray(a, dtype=np.float32)
        out = np.empty((n, self.feature_dim), np.float32)
        _check(_features(self._m, a.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), n,
                         out.ctypes.data_as(ctypes.POINTER(ctypes.c_float))))
        return out

    def _out_dim(self, projections):
        if not projections:
            return self.feature_dim
        n = _i()
        ks = _cfg_keys(ctypes.byref(n))
        offset = next(ks[i].offset for i in range(n.value) if ks[i].name == b"proj-dim")
        return ctypes.c_int.from_address(self._cfg + offset).value

    def export(self, path, with_heads=False):
        """The weights as safetensors with torchvision's names (docs/EXPORT.md)."""
        _check(_export(self._m, self._cfg, os.fspath(path).encode(), int(with_heads)))

    def close(self):
        if self._m:
            _free(self._m)
            self._m = _p()
        if self._cfg:
            _cfg_free(self._cfg)
            self._cfg = None

    def __del__(self):
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def load(path, batch=256):
    """A trained model from a run directory (its latest checkpoint) or a checkpoint file."""
    return Model(path, batch)
