namespace Rnnx;

/// <summary>Element type of a tensor: <see cref="Float32"/> for training, <see cref="Float64"/> for gradient checks.</summary>
public enum DType
{
    /// <summary>32-bit IEEE float (<see cref="float"/>), the training type, as in Keras.</summary>
    Float32,
    /// <summary>64-bit IEEE float (<see cref="double"/>), used by the gradient-check suite.</summary>
    Float64,
}
