namespace Rnnx.Optimizers;

/// <summary>
/// Exponential learning-rate decay, as Keras's <c>keras.optimizers.schedules.ExponentialDecay</c>:
/// <c>initialLearningRate · decayRate^(step / decaySteps)</c>, with <c>step / decaySteps</c> floored when
/// <see cref="Staircase"/> is set.
/// </summary>
/// <remarks>
/// Keras evaluates the formula in the dtype of <c>initial_learning_rate</c> (float32 for a Python float); this class
/// evaluates it in double and the optimizer rounds the result to the parameter's dtype, so a float32 learning rate can
/// differ from Keras's in the last bit. Source read: keras-team/keras
/// <c>keras/src/optimizers/schedules/learning_rate_schedule.py</c>.
/// </remarks>
public sealed class ExponentialDecay : ILearningRateSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="initialLearningRate">Learning rate at step 0 (finite, ≥ 0).</param>
    /// <param name="decaySteps">Steps per factor of <paramref name="decayRate"/> (&gt; 0).</param>
    /// <param name="decayRate">Multiplicative decay per <paramref name="decaySteps"/> steps (finite, ≥ 0).</param>
    /// <param name="staircase">If true, decay in discrete jumps every <paramref name="decaySteps"/> steps.</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range.</exception>
    public ExponentialDecay(double initialLearningRate, long decaySteps, double decayRate, bool staircase = false)
    {
        Optimizer.CheckNonNegative(initialLearningRate, nameof(initialLearningRate));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(decaySteps);
        Optimizer.CheckNonNegative(decayRate, nameof(decayRate));
        InitialLearningRate = initialLearningRate;
        DecaySteps = decaySteps;
        DecayRate = decayRate;
        Staircase = staircase;
    }

    /// <summary>Learning rate at step 0.</summary>
    public double InitialLearningRate { get; }

    /// <summary>Steps per factor of <see cref="DecayRate"/>.</summary>
    public long DecaySteps { get; }

    /// <summary>Multiplicative decay per <see cref="DecaySteps"/> steps.</summary>
    public double DecayRate { get; }

    /// <summary>Whether <c>step / decaySteps</c> is floored (decay in discrete jumps).</summary>
    public bool Staircase { get; }

    /// <inheritdoc/>
    public double LearningRate(long step)
    {
        double p = (double)step / DecaySteps;
        if (Staircase) p = Math.Floor(p);
        return InitialLearningRate * Math.Pow(DecayRate, p);
    }
}
