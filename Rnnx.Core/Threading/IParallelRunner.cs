namespace Rnnx.Threading;

/// <summary>
/// Runs numbered work items, possibly several at once on different threads: how a caller that owns threads (a model's
/// shard threads) lends them to work it does not know, such as an optimizer's update over element ranges.
/// </summary>
public interface IParallelRunner
{
    /// <summary>
    /// Runs <paramref name="item"/> once for each of 0..<paramref name="items"/>-1, in any order and on any of the
    /// runner's threads; returns when all are done and rethrows the first exception. The items must not depend on
    /// which thread runs them or in which order.
    /// </summary>
    /// <param name="items">Number of items (0 runs nothing).</param>
    /// <param name="item">The work of one item, given its number.</param>
    void Run(int items, Action<int> item);
}
