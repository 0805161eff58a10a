using Rnnx.Threading;

namespace Rnnx.Optimization;

/// <summary>
/// An optimizer that takes the gradient of a data-parallel step as the per-shard gradients themselves and sums them
/// inside its update, on the caller's threads: no summed gradient is written and read back, and the update is split
/// over threads instead of running on one.
/// </summary>
public interface IParallelOptimizer : IOptimizer
{
    /// <summary>
    /// Applies one update whose gradient is, element by element, the sum of <paramref name="parts"/> in their order,
    /// accumulated as <see cref="Gradients.Add(Gradients, IReadOnlyList{Parameter}, double)"/> into a cleared store
    /// accumulates (0 + g₀ + g₁ + …). Gives the bits <see cref="IOptimizer.Step"/> gives on that summed store, whatever
    /// <paramref name="runner"/>'s thread count: the work is cut into element ranges that depend only on the parameters.
    /// A parameter has a gradient when at least one part holds one; parts without it count as zeros.
    /// </summary>
    /// <param name="parameters">The parameters, in a fixed order.</param>
    /// <param name="parts">The gradients to sum, in shard order (at least one).</param>
    /// <param name="runner">The threads that run the element ranges.</param>
    void Step(IReadOnlyList<Parameter> parameters, ReadOnlySpan<Gradients> parts, IParallelRunner runner);
}
