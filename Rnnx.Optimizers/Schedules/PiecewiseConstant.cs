namespace Rnnx.Optimizers;

/// <summary>
/// A piecewise-constant learning rate, as Keras's <c>keras.optimizers.schedules.PiecewiseConstantDecay</c>:
/// <c>values[0]</c> while <c>step ≤ boundaries[0]</c>, <c>values[i]</c> while
/// <c>boundaries[i-1] &lt; step ≤ boundaries[i]</c>, and <c>values[^1]</c> once <c>step &gt; boundaries[^1]</c>.
/// </summary>
/// <remarks>Source read: keras-team/keras <c>keras/src/optimizers/schedules/learning_rate_schedule.py</c>.</remarks>
public sealed class PiecewiseConstant : ILearningRateSchedule
{
    private readonly long[] _boundaries;
    private readonly double[] _values;

    /// <summary>Creates the schedule.</summary>
    /// <param name="boundaries">Strictly increasing step boundaries.</param>
    /// <param name="values">One more value than boundaries (each finite, ≥ 0).</param>
    /// <exception cref="ArgumentException">The lengths do not match, or the boundaries are not strictly increasing.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A value is negative or not finite.</exception>
    public PiecewiseConstant(IReadOnlyList<long> boundaries, IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(boundaries);
        ArgumentNullException.ThrowIfNull(values);
        if (boundaries.Count != values.Count - 1)
            throw new ArgumentException(
                $"PiecewiseConstant: there must be one more value than boundaries; got {boundaries.Count} boundaries and {values.Count} values.",
                nameof(values));
        for (int i = 1; i < boundaries.Count; i++)
        {
            if (boundaries[i] <= boundaries[i - 1])
                throw new ArgumentException(
                    $"PiecewiseConstant: boundaries must be strictly increasing; boundaries[{i - 1}] = {boundaries[i - 1]}, boundaries[{i}] = {boundaries[i]}.",
                    nameof(boundaries));
        }
        for (int i = 0; i < values.Count; i++) Optimizer.CheckNonNegative(values[i], $"values[{i}]");
        _boundaries = [.. boundaries];
        _values = [.. values];
    }

    /// <summary>The step boundaries.</summary>
    public IReadOnlyList<long> Boundaries => _boundaries;

    /// <summary>The learning rates, one per interval.</summary>
    public IReadOnlyList<double> Values => _values;

    /// <inheritdoc/>
    public double LearningRate(long step)
    {
        int i = 0;
        while (i < _boundaries.Length && step > _boundaries[i]) i++;
        return _values[i];
    }
}
