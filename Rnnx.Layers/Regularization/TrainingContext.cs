using Rnnx.Random;

namespace Rnnx.Layers;

/// <summary>
/// What a training call is: the model seed, the training step and the global index of the first sample row. Random
/// layers (<see cref="Dropout"/>, <see cref="GaussianNoise"/>, recurrent dropout) derive their noise from it with
/// <see cref="CounterRandom"/>, so the noise of a row depends on (seed, layer, step, row, element) only: the same with 1,
/// 2 or 4 threads and with any number of shards. <see cref="Models.Sequential"/>'s <c>Fit</c> and <c>TrainOnBatch</c>
/// enter one per shard (seed: the model's <c>Seed</c>; step: the optimizer's iteration count; first row: the shard's
/// first position in the epoch's sample order). A layer called several times in one context (a shared layer) draws
/// fresh noise at every call, as Keras's seed generator does: its first draw keeps the key above, the n-th adds n to it.
/// A call with <c>training: true</c> outside any context draws as if with seed 0, first row 0 and a per-layer call
/// counter as the step (fresh noise every call, as Keras).
/// </summary>
/// <param name="Seed">The model's seed.</param>
/// <param name="Step">The training step (a fresh draw every step).</param>
/// <param name="FirstRow">The global index of the batch's first row.</param>
public readonly record struct TrainingContext(long Seed, long Step, long FirstRow)
{
    [ThreadStatic] private static TrainingContext? t_current;

    /// <summary>
    /// The (layer, part) of every draw made in this thread's contexts, in order, as a stack: the current context's draws
    /// are those from <see cref="t_drawsStart"/> on; a nested context's draws are dropped when it ends, so the outer
    /// context's counts go on where they were.
    /// </summary>
    [ThreadStatic] private static List<(Layer Layer, ulong Part)>? t_draws;

    /// <summary>Where the current context's draws begin in <see cref="t_draws"/>.</summary>
    [ThreadStatic] private static int t_drawsStart;

    /// <summary>The context of this thread, or null outside any.</summary>
    public static TrainingContext? Current => t_current;

    /// <summary>Makes <paramref name="context"/> this thread's context until the returned scope is disposed (no allocation).</summary>
    public static Scope Enter(TrainingContext context)
    {
        var previous = t_current;
        int previousStart = t_drawsStart;
        if (previous is null) t_draws?.Clear();
        t_current = context;
        t_drawsStart = t_draws?.Count ?? 0;
        return new Scope(previous, previousStart, t_drawsStart);
    }

    /// <summary>Restores the previous context, and its draw counts, when disposed.</summary>
    public readonly ref struct Scope
    {
        private readonly TrainingContext? _previous;
        private readonly int _previousStart, _start;

        internal Scope(TrainingContext? previous, int previousStart, int start)
        {
            _previous = previous;
            _previousStart = previousStart;
            _start = start;
        }

        /// <summary>Restores the previous context and drops this one's draws (the outer context's counts are kept).</summary>
        public void Dispose()
        {
            t_current = _previous;
            t_drawsStart = _previousStart;
            if (t_draws is { } draws && draws.Count > _start) draws.RemoveRange(_start, draws.Count - _start);
        }
    }

    /// <summary>
    /// The noise key of one random draw of <paramref name="layer"/>: its stream from <paramref name="seed"/> (Keras's
    /// layer <c>seed</c>) when given, else from the context's seed and the layer's name; <paramref name="part"/>
    /// tells apart the masks of one layer (input, recurrent, per gate). In a context, the n-th draw of the same
    /// (layer, part) there (n ≥ 1: a shared layer's later calls) gets its own stream.
    /// </summary>
    internal static NoiseKey KeyFor(Layer layer, int? seed, ulong part, ref long callsOutsideContext)
    {
        long baseSeed = 0, step, firstRow = 0;
        int call = 0;
        if (t_current is { } c)
        {
            baseSeed = c.Seed;
            step = c.Step;
            firstRow = c.FirstRow;
            call = EarlierDraws(layer, part);
        }
        else step = Interlocked.Increment(ref callsOutsideContext) - 1;
        ulong stream = seed is int s
            ? CounterRandom.Stream(s, 0x5EED, part)
            : CounterRandom.Stream(baseSeed, CounterRandom.StableHash(layer.Name), part);
        if (call > 0) stream = CounterRandom.Stream(unchecked((long)stream), 0xCA11, (ulong)call);
        return new NoiseKey(stream, step, firstRow);
    }

    /// <summary>How many draws of (layer, part) this context has made before this one; records this one.</summary>
    private static int EarlierDraws(Layer layer, ulong part)
    {
        var draws = t_draws ??= [];
        int earlier = 0;
        for (int i = t_drawsStart; i < draws.Count; i++)
            if (ReferenceEquals(draws[i].Layer, layer) && draws[i].Part == part) earlier++;
        draws.Add((layer, part));
        return earlier;
    }

    /// <summary>Refuses a rate outside [0, 1), naming the layer and the argument.</summary>
    internal static double CheckRate(string layer, string argument, double rate) =>
        rate >= 0 && rate < 1 ? rate
        : throw new ArgumentOutOfRangeException(argument, rate, $"{layer}: {argument} must be in [0, 1) (the fraction of units dropped), got {rate}.");
}
