"""The welcome page: what ResODE Lab teaches, the path as a picture, and where to start."""

import streamlit as st

from resode_ui import widgets as ui

# The path through the lab, in the sidebar's order; the edge in the middle is the lab's
# one idea: a residual block is a forward-Euler step.
PATH = r"""
digraph path {
  rankdir=TB; bgcolor="transparent"; nodesep=0.25; ranksep=0.25; newrank=true;
  node [shape=box, style="rounded,filled", fontname="sans-serif", fontsize=10,
        color="#444444", fillcolor="#f2f2f2", margin="0.12,0.05"];
  edge [color="#444444", fontname="sans-serif", fontsize=10];
  subgraph cluster_resnets {
    label="Residual networks"; fontname="sans-serif"; fontsize=11; color="#1f77b4";
    vg [label="1 Vanishing gradients"]; id [label="2 Plain vs ResNet on y = x"];
    r3 [label="3 ResNet = forward Euler"];
    block [label="ResNet block: xℓ = xℓ₋₁ + h·F(xℓ₋₁)", fillcolor="#dbe9f6"];
  }
  subgraph cluster_odes {
    label="Neural ODEs"; fontname="sans-serif"; fontsize=11; color="#ff7f0e";
    euler [label="Euler step: uₙ₊₁ = uₙ + Δt·V(uₙ, tₙ)", fillcolor="#fde5cf"];
    sv [label="4 Solvers and Δt"]; flow [label="5 Regression as a flow"];
    cost [label="6 ResNet vs neural ODE"]; sp [label="7 The spiral"];
    lv [label="8 Lotka–Volterra"]; yd [label="9 Your own time series"];
  }
  { rank=same; vg; id; r3; }
  { rank=same; sv; flow; cost; }
  { rank=same; sp; lv; yd; }
  vg -> id -> r3; r3 -> block [style=dashed, arrowhead=none];
  block -> euler [label=" h = Δt ", dir=both, color="#2ca02c", fontcolor="#2ca02c",
                  penwidth=2.5];
  euler -> sv [style=dashed, arrowhead=none]; sv -> flow -> cost; cost -> sp -> lv -> yd;
}
"""

st.title("ResODE Lab")
st.markdown(
    r"""
Why do very deep networks become trainable once each layer only *adds* a correction to its
input? And what happens when we let the number of layers go to infinity? This lab answers both
questions with live experiments you can change with a slider.
"""
)
ui.lesson_link("pages/vanishing_gradients.py", "Start here: vanishing gradients")
st.graphviz_chart(PATH, width="content")
st.markdown(
    r"""
**The path through the lab** (the sidebar follows it)

1. **Vanishing gradients.** In a deep plain network the gradient reaching the first layers
   shrinks with every layer it passes through; the early layers barely learn.
2. **Plain net vs ResNet on $y = x$** (He et al., 2015): a block computes
   $x_\ell = x_{\ell-1} + F(x_{\ell-1})$. The shortcut adds an identity path for the signal
   and the gradient, so small weights give the identity map instead of the null map (large
   weights can still make gradients grow). The same training recipe, two very different
   outcomes.
3. **A ResNet is forward Euler.** With a step $\Delta t$,
   $x_\ell = x_{\ell-1} + \Delta t\,\sigma(W_\ell x_{\ell-1} + b_\ell)$ is one Euler step of
   $\dot x = V(x, t;\theta)$, and depth becomes time: $L = T/\Delta t$.
4. **Solvers and $\Delta t$**: let $\Delta t \to 0$ and any ODE solver can take the Euler
   step's place, from Euler to Tsit5 and Dormand–Prince; their orders and costs.
5. **Regression as a flow**: a neural ODE (Chen et al., 2018) moves points along a flow,
   and what a flow cannot do.
6. **ResNet vs neural ODE**: what depth costs in parameters, memory and time; backprop
   against the adjoint.
7. **The spiral**, 8. **Lotka–Volterra** and 9. **your own time series**: learn dynamics from
   samples, then test whether the learned field extrapolates to initial conditions it never
   saw.

The last page, **the story in six charts**, recaps the path. Every page opens with settings
that already show its point, and asks you to predict before it shows the answer.

**References.** K. He, X. Zhang, S. Ren, J. Sun, *Deep Residual Learning for Image
Recognition*, 2015. R. T. Q. Chen, Y. Rubanova, J. Bettencourt, D. Duvenaud, *Neural Ordinary
Differential Equations*, NeurIPS 2018.
"""
)
