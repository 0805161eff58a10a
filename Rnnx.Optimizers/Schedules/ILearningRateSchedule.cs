namespace Rnnx.Optimizers;

/// <summary>
/// A learning rate as a function of the optimizer step, like Keras's <c>LearningRateSchedule</c>.
/// Assign one to <see cref="Optimizer.LearningRateSchedule"/>; the optimizer then evaluates it once per step with
/// <c>step = </c><see cref="Optimizer.Iterations"/> (the number of steps already taken, so the first update uses
/// step 0), as Keras does.
/// </summary>
public interface ILearningRateSchedule
{
    /// <summary>The learning rate for the update that follows <paramref name="step"/> completed steps.</summary>
    /// <param name="step">Number of optimizer steps already taken (0 for the first update).</param>
    /// <returns>The learning rate, a finite non-negative number.</returns>
    double LearningRate(long step);
}
