namespace Rnnx.Layers;

/// <summary>
/// Applies one inner layer (one set of weights) to every time step of (batch, time, ...): the input is viewed as
/// (batch·time, ...), passed through the layer, and viewed back as (batch, time, ...).
/// </summary>
public sealed class TimeDistributed : Layer
{
    /// <summary>Wraps <paramref name="layer"/>.</summary>
    public TimeDistributed(Layer layer, int?[]? inputShape = null, string? name = null) : base(name, inputShape)
    {
        Layer = Track(layer ?? throw new ArgumentNullException(nameof(layer)));
    }

    /// <inheritdoc />
    protected internal override bool FlattenChildNames => true;

    /// <summary>The wrapped layer.</summary>
    public Layer Layer { get; }

    /// <inheritdoc />
    protected override void BuildCore(int?[] inputShape)
    {
        if (inputShape.Length < 2) throw ShapeError($"expects (batch, time, ...) input, got (batch, {string.Join(", ", inputShape)}).");
        Layer.BuildInContext(inputShape[1..]);
    }

    /// <inheritdoc />
    public override int?[] ComputeOutputShape(int?[] inputShape)
    {
        if (inputShape.Length < 2) throw ShapeError($"expects (batch, time, ...) input, got (batch, {string.Join(", ", inputShape)}).");
        return [inputShape[0], .. Layer.ComputeOutputShape(inputShape[1..])];
    }

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training)
    {
        var s = input.Shape;
        if (s.Rank < 3) throw ShapeError($"expects (batch, time, ...) input, got {s}.");
        Span<int> inner = stackalloc int[s.Rank - 1];
        inner[0] = s[0] * s[1];
        for (int i = 2; i < s.Rank; i++) inner[i - 1] = s[i];
        var y = Layer.Call(Tensor.Reshape(input, inner), training);
        var ys = y.Shape;
        Span<int> outer = stackalloc int[ys.Rank + 1];
        outer[0] = s[0];
        outer[1] = s[1];
        for (int i = 1; i < ys.Rank; i++) outer[i + 1] = ys[i];
        return Tensor.Reshape(y, outer);
    }
}
