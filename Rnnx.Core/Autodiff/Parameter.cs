namespace Rnnx;

/// <summary>
/// A trainable (or frozen) weight: a named leaf tensor that persists across training steps.
/// Optimizers update <see cref="AsSpan{T}"/> in place from a <see cref="Gradients"/> store.
/// </summary>
public sealed class Parameter
{
    private Tensor _value;

    /// <summary>Creates a parameter holding <paramref name="value"/> (copied to a heap tensor owned by the parameter).</summary>
    /// <param name="name">Keras-style name, e.g. <c>lstm/kernel</c>.</param>
    /// <param name="value">Initial value.</param>
    /// <param name="trainable">Whether gradients flow to it.</param>
    public Parameter(string name, Tensor value, bool trainable = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
        _value = value.Copy();
        Trainable = trainable;
        _value.Data.RequiresGrad = trainable;
    }

    /// <summary>Keras-style name, e.g. <c>lstm/kernel</c>.</summary>
    public string Name { get; set; }

    /// <summary>The current value (a leaf tensor; requires a gradient when trainable).</summary>
    public Tensor Value => _value;

    /// <summary>Whether the parameter is updated by training.</summary>
    public bool Trainable
    {
        get;
        set
        {
            if (field != value) Interlocked.Increment(ref s_trainableVersion);
            field = value;
            if (_value.IsValid) _value.Data.RequiresGrad = value;
        }
    }

    private static int s_trainableVersion;

    /// <summary>Changes whenever any parameter's <see cref="Trainable"/> flag changes (lets callers cache trainable lists).</summary>
    public static int TrainableVersion => Volatile.Read(ref s_trainableVersion);

    /// <summary>The shape.</summary>
    public Shape Shape => _value.Shape;

    /// <summary>The element type.</summary>
    public DType DType => _value.DType;

    /// <summary>Number of elements.</summary>
    public int Size => _value.Size;

    /// <summary>The values, writable, for optimizers and weight loading.</summary>
    public Span<T> AsSpan<T>() where T : unmanaged => _value.Data.Span<T>();

    /// <summary>Overwrites the value with <paramref name="values"/> (same shape; converted to this parameter's dtype).</summary>
    /// <exception cref="ShapeMismatchException">The shapes differ.</exception>
    public void Assign(Tensor values)
    {
        if (values.Shape != Shape)
            throw new ShapeMismatchException($"Parameter '{Name}': cannot assign a value of shape {values.Shape} to a weight of shape {Shape}.", nameof(values));
        var src = values.DType == DType ? values : values.Copy(DType);
        if (DType == DType.Float32) src.AsSpan<float>().CopyTo(AsSpan<float>());
        else src.AsSpan<double>().CopyTo(AsSpan<double>());
    }

    /// <summary>Replaces the value with a copy of <paramref name="values"/> in <paramref name="dtype"/> (used to switch a model to float64).</summary>
    public void Reset(Tensor values, DType dtype)
    {
        _value = values.Copy(dtype);
        _value.Data.RequiresGrad = Trainable;
    }

    /// <summary>Name, shape and dtype.</summary>
    public override string ToString() => $"{Name} {Shape} {DType}";
}
