using System.Numerics;

namespace Rnnx.Optimizers;

/// <summary>
/// Everything an <see cref="Optimizer"/> subclass needs to update one parameter in one step: the parameter's values
/// (writable), its gradient (already clipped when clipping is configured), its slot arrays, the learning rate in the
/// parameter's dtype and the step number. Passed to <c>Optimizer.Update</c>; valid only during that call. For an
/// optimizer that <see cref="Optimizer.UpdatesElementwise"/>, the values, gradient and slots are one element range of
/// the parameter (the same range of each).
/// </summary>
/// <typeparam name="T"><see cref="float"/> for <see cref="DType.Float32"/> parameters, <see cref="double"/> for <see cref="DType.Float64"/>.</typeparam>
public readonly ref struct ParameterUpdate<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly SlotSet _slots;
    private readonly int _offset;

    internal ParameterUpdate(Parameter parameter, Span<T> value, GradientSource<T> gradient, SlotSet slots, int offset, T learningRate, long step)
    {
        Parameter = parameter;
        Value = value;
        GradientSource = gradient;
        _slots = slots;
        _offset = offset;
        LearningRate = learningRate;
        Step = step;
    }

    /// <summary>The parameter being updated.</summary>
    public Parameter Parameter { get; }

    /// <summary>The parameter's values (or the range being updated), updated in place.</summary>
    public Span<T> Value { get; }

    /// <summary>
    /// The gradient (same length as <see cref="Value"/>), after clipping, as one span.
    /// </summary>
    /// <exception cref="InvalidOperationException">
    /// The gradient is a sum of shard gradients read as it is computed (only for optimizers that
    /// <see cref="Optimizer.UpdatesElementwise"/>): read <see cref="GradientSource"/>.
    /// </exception>
    public ReadOnlySpan<T> Gradient => GradientSource.Span;

    /// <summary>The gradient (same length as <see cref="Value"/>), after clipping: one span, or a sum read as it is computed.</summary>
    public GradientSource<T> GradientSource { get; }

    /// <summary>The learning rate of this step, rounded to <typeparamref name="T"/> (Keras casts it to the variable's dtype).</summary>
    public T LearningRate { get; }

    /// <summary>The step number t = <see cref="Optimizer.Iterations"/> + 1 (1 for the first update).</summary>
    public long Step { get; }

    /// <summary>
    /// The slot array number <paramref name="index"/> (in <see cref="Optimizer.SlotNames"/> order) over the same elements
    /// as <see cref="Value"/>, zero-initialized.
    /// </summary>
    /// <param name="index">Slot index.</param>
    /// <returns>The slot values, writable.</returns>
    public Span<T> Slot(int index) => _slots.Slot<T>(index).Slice(_offset, Value.Length);
}
