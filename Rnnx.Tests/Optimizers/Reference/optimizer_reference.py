#!/usr/bin/env python3
"""Reference values for Rnnx.Tests/Optimizers.

Scalar re-implementations of the Keras optimizer update formulas, written from the Keras sources
(keras-team/keras keras/src/optimizers/{nadam,adam,sgd,rmsprop}.py; keras-team/tf-keras
tf_keras/optimizers/legacy/nadam.py) and docs/keras-semantics.md section 10, in a chosen dtype.
With dt=np.float32 every constant is rounded to float32 first and every operation is a float32
operation, which reproduces TensorFlow's float32 rounding; with dt=np.float64 the same formulas
run in double. Run:  /usr/bin/python3 optimizer_reference.py [config ...]   (numpy 1.24)
"""
import math
import sys

import numpy as np


def power(x, y):
    """x**y for scalars of one dtype, correctly rounded to that dtype (as glibc powf and .NET MathF.Pow are).
    np.power on float32 scalars is not: numpy 1.24's SIMD powf gives 0.96f**0.016f = 0.99934703
    where the correctly rounded result is 0.9993471."""
    return type(x)(math.pow(float(x), float(y)))


# grads: a list of gradients, or of callables theta -> gradient (for losses such as theta^2/2).

def nadam(theta, grads, lr, b1=0.9, b2=0.999, eps=1e-7, legacy=False, dt=np.float64):
    c = dt
    th = np.array(theta, dtype=c); m = np.zeros_like(th); v = np.zeros_like(th); P = c(1)
    b1c, b2c, half, dec, one = c(b1), c(b2), c(0.5), c(0.96), c(1)
    lrc, epsc = c(lr), c(eps)
    out = []
    for i, g in enumerate(grads):
        g = np.array(g(th) if callable(g) else g, dtype=c)
        t = c(i + 1); tn = c(i + 2)
        if not legacy:
            pw = power(dec, t)
            P = (P * b1c) * (one - half * pw)
            u = b1c * (one - half * pw)
            un = b1c * (one - half * power(dec, tn))
            Pn = P * un
            m = m + (g - m) * (one - b1c)
            v = v + (g * g - v) * (one - b2c)
            mhat = (un * m) / (one - Pn) + ((one - u) * g) / (one - P)
            vhat = v / (one - power(b2c, t))
            th = th - (mhat * lrc) / (np.sqrt(vhat) + epsc)
        else:
            k = c(0.004)
            u = b1c * (one - half * power(dec, k * t))
            un = b1c * (one - half * power(dec, k * tn))
            P = P * u
            Pn = P * un
            gp = g / (one - P)
            m = b1c * m + (one - b1c) * g
            mp = m / (one - Pn)
            v = b2c * v + (one - b2c) * (g * g)
            vp = v / (one - power(b2c, t))
            mbar = (one - u) * gp + un * mp
            th = th - (lrc * mbar) / (np.sqrt(vp) + epsc)
        assert th.dtype == c and m.dtype == c and v.dtype == c and np.asarray(P).dtype == c
        out.append(th.copy())
    return out

def adam(theta, grads, lr, b1=0.9, b2=0.999, eps=1e-7, amsgrad=False, dt=np.float64):
    c = dt
    th = np.array(theta, dtype=c); m = np.zeros_like(th); v = np.zeros_like(th); vh = np.zeros_like(th)
    one = c(1); omb1 = c(1 - b1); omb2 = c(1 - b2)   # 1 - beta in Python double, then cast (Keras adam.py)
    out = []
    for i, g in enumerate(grads):
        g = np.array(g(th) if callable(g) else g, dtype=c); t = c(i + 1)
        alpha = c(lr) * np.sqrt(one - power(c(b2), t)) / (one - power(c(b1), t))
        m = m + (g - m) * omb1
        v = v + (g * g - v) * omb2
        vv = v
        if amsgrad:
            vh = np.maximum(vh, v); vv = vh
        th = th - (m * alpha) / (np.sqrt(vv) + c(eps))
        assert th.dtype == c and np.asarray(alpha).dtype == c
        out.append(th.copy())
    return out

def sgd(theta, grads, lr, momentum=0.0, nesterov=False, dt=np.float64):
    c = dt
    th = np.array(theta, dtype=c); vel = np.zeros_like(th); lrc = c(lr); mu = c(momentum)
    out = []
    for g in grads:
        g = np.array(g(th) if callable(g) else g, dtype=c)
        if momentum != 0:
            vel = vel * mu - g * lrc
            th = th + (vel * mu - g * lrc) if nesterov else th + vel
        else:
            th = th - g * lrc
        assert th.dtype == c
        out.append(th.copy())
    return out

def rmsprop(theta, grads, lr, rho=0.9, momentum=0.0, eps=1e-7, centered=False, dt=np.float64):
    c = dt
    th = np.array(theta, dtype=c); v = np.zeros_like(th); a = np.zeros_like(th); b = np.zeros_like(th)
    rhoc = c(rho); omr = c(1 - rho); epsc = c(eps); lrc = c(lr); muc = c(momentum)
    out = []
    for g in grads:
        g = np.array(g(th) if callable(g) else g, dtype=c)
        v = rhoc * v + omr * (g * g)
        if centered:
            a = rhoc * a + omr * g
            d = v - a * a + epsc
        else:
            d = v + epsc
        inc = (lrc * g) / np.sqrt(d)
        if momentum > 0:
            b = muc * b + inc
            th = th - b
        else:
            th = th - inc
        assert th.dtype == c
        out.append(th.copy())
    return out

def fmt32(a):
    return ", ".join(np.format_float_positional(np.float32(x), unique=True, trim='-') + "f" for x in np.ravel(a))
def fmt64(a):
    return ", ".join(repr(float(x)) for x in np.ravel(a))


theta0 = [0.5, -1.25, 2.0, 0.0, 3.5]
grads = [[0.1, -0.2, 0.3, 0.0, 1.5],
         [0.05, 0.4, -0.6, 0.2, -2.0],
         [-0.3, 0.1, 0.2, -0.1, 0.5],
         [0.2, -0.05, 0.1, 0.3, 0.25]]
cfgs = {
 'nadam_keras3': lambda dt: nadam(theta0, grads, 0.01, dt=dt),
 'nadam_legacy': lambda dt: nadam(theta0, grads, 0.01, legacy=True, dt=dt),
 'adam': lambda dt: adam(theta0, grads, 0.01, dt=dt),
 'adam_amsgrad': lambda dt: adam(theta0, grads, 0.01, amsgrad=True, dt=dt),
 'sgd': lambda dt: sgd(theta0, grads, 0.1, dt=dt),
 'sgd_momentum': lambda dt: sgd(theta0, grads, 0.1, momentum=0.9, dt=dt),
 'sgd_nesterov': lambda dt: sgd(theta0, grads, 0.1, momentum=0.9, nesterov=True, dt=dt),
 'rms': lambda dt: rmsprop(theta0, grads, 0.01, dt=dt),
 'rms_centered': lambda dt: rmsprop(theta0, grads, 0.01, centered=True, dt=dt),
 'rms_momentum': lambda dt: rmsprop(theta0, grads, 0.01, momentum=0.5, dt=dt),
 'rms_centered_momentum': lambda dt: rmsprop(theta0, grads, 0.01, momentum=0.5, centered=True, dt=dt),
}
if __name__ == "__main__":
    which = sys.argv[1:] or list(cfgs)
    for name in which:
        f = cfgs[name]
        print(f"// {name}, float64")
        for row in f(np.float64): print("    { " + fmt64(row) + " },")
        print(f"// {name}, float32")
        for row in f(np.float32): print("    { " + fmt32(row) + " },")

# Extra scenarios used by single tests:
#   AMSGrad:      adam([1.0, -1.0], [[2.0, -0.5], [0.1, -0.5], [0.1, 0.5], [-0.05, 3.0]], 0.01, b2=0.5, amsgrad=True)
#   Quadratic:    nadam([1.0], [lambda th: th] * 5, 0.001, legacy=False/True)      (theta^2/2, gradient = theta)
#   Keras golden: nadam(np.ones(10), [[0.01] * 10] + [list(np.arange(0.1, 1.1, 0.1))] * 4, 0.5, b1=0.5, b2=0.67, eps=1e-5)
