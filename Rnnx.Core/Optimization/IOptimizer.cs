namespace Rnnx.Optimization;

/// <summary>
/// Updates parameters in place from their gradients. Implementations keep per-parameter state (moments)
/// and allocate nothing per step after the first.
/// </summary>
public interface IOptimizer
{
    /// <summary>The learning rate used by the next step; may be changed between steps or epochs.</summary>
    double LearningRate { get; set; }

    /// <summary>Number of steps taken so far (Keras's <c>iterations</c>).</summary>
    long Iterations { get; }

    /// <summary>Applies one update to every trainable parameter in <paramref name="parameters"/>.</summary>
    void Step(IReadOnlyList<Parameter> parameters, Gradients gradients);
}
