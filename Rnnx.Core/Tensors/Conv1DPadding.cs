namespace Rnnx;

/// <summary>Padding mode of a 1-D convolution (Keras/TensorFlow semantics).</summary>
public enum Conv1DPadding
{
    /// <summary>No padding; only windows fully inside the input.</summary>
    Valid,

    /// <summary>Output length ceil(L / stride); the padding is split with the extra element on the right.</summary>
    Same,

    /// <summary>All padding on the left (dilation * (kernel - 1)), so output t sees only inputs &lt;= t * stride.</summary>
    Causal,
}
