"""The welcome page: what ResODE Lab teaches and where to start."""

import streamlit as st

st.title("ResODE Lab")
st.markdown(
    r"""
Why do very deep networks become trainable once each layer only *adds* a correction to its
input? And what happens when we let the number of layers go to infinity? This lab answers both
questions with live experiments you can change with a slider.

**The path through the lab**

1. **Vanishing gradients.** In a deep plain network the gradient reaching the first layers
   shrinks with every layer it passes through; the early layers barely learn.
2. **Residual networks** (He et al., 2015). A block computes $x_\ell = x_{\ell-1} + F(x_{\ell-1})$:
   the shortcut adds an identity path for the signal and the gradient, so small weights give
   the identity map instead of the null map (large weights can still make gradients grow).
3. **Plain net vs ResNet on $y = x$**: the same training recipe, two very different outcomes.
4. **A ResNet is forward Euler.** With a step $\Delta t$,
   $x_\ell = x_{\ell-1} + \Delta t\,\sigma(W_\ell x_{\ell-1} + b_\ell)$ is one Euler step of
   $\dot x = V(x, t;\theta)$, and depth becomes time: $L = T/\Delta t$.
5. **Neural ODEs** (Chen et al., 2018). Let $\Delta t \to 0$: learn the vector field $V$ itself
   and integrate it with any solver, from Euler to Tsit5 and Dormand–Prince.
6. **The spiral and Lotka–Volterra**: learn dynamics from samples, then test whether the
   learned field extrapolates to initial conditions it never saw.

Pick a page in the sidebar. Every page opens with settings that already show its point.

**References.** K. He, X. Zhang, S. Ren, J. Sun, *Deep Residual Learning for Image
Recognition*, 2015. R. T. Q. Chen, Y. Rubanova, J. Bettencourt, D. Duvenaud, *Neural Ordinary
Differential Equations*, NeurIPS 2018.
"""
)
