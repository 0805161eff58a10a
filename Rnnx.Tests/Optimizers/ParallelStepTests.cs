using Rnnx.Optimization;
using Rnnx.Optimizers;
using Rnnx.Threading;
using static Rnnx.Tests.Optimizers.OptimizerTestHelpers;

namespace Rnnx.Tests.Optimizers;

/// <summary>
/// The step over shard gradients (<see cref="IParallelOptimizer"/>): summed as the update reads them, cut into fixed
/// element ranges run on any number of threads in any order, it gives the bits of a step on the gradients summed into
/// one store first (<see cref="Gradients.Add(Gradients, IReadOnlyList{Parameter}, double)"/>), with and without clipping.
/// </summary>
public class ParallelStepTests
{
    public static IEnumerable<TestCaseData> Configurations() => OptimizerTests.Configurations();

    /// <summary>Runs the items on <c>threads</c> threads, each taking the next item left, after shuffling their order.</summary>
    private sealed class ShuffledRunner(int threads, int seed) : IParallelRunner
    {
        private readonly System.Random _rng = new(seed);
        private int[] _order = [];

        public int Calls { get; private set; }

        public void Run(int items, Action<int> item)
        {
            Calls++;
            if (_order.Length != items) _order = [.. Enumerable.Range(0, items)];
            _rng.Shuffle(_order);
            int next = -1;
            var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
            {
                for (int i = Interlocked.Increment(ref next); i < items; i = Interlocked.Increment(ref next)) item(_order[i]);
            })).ToArray();
            foreach (var w in workers) w.Start();
            foreach (var w in workers) w.Join();
        }
    }

    /// <summary>
    /// Parameters of several ranges each (float32 and float64, one not a multiple of the vector widths) and a small
    /// one; more than <see cref="Optimizer.ParallelMinimumElements"/> elements in all, so the runner is used.
    /// </summary>
    private static Parameter[] Parameters(int seed)
    {
        var rng = new System.Random(seed);
        return
        [
            Param("big", RandomFloats(rng, 3 * Optimizer.ElementsPerRange + 1001)),
            Param("small", RandomFloats(rng, 17)),
            Param("double", [.. Enumerable.Range(0, 2 * Optimizer.ElementsPerRange + 33).Select(_ => rng.NextDouble() * 2 - 1)]),
            Param("big2", RandomFloats(rng, 4 * Optimizer.ElementsPerRange)),
        ];
    }

    private static float[] RandomFloats(System.Random rng, int n) => [.. Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1))];

    /// <summary>
    /// Shard gradients with exact zeros of both signs in every combination across parts (the sum's sign of zero is
    /// where the order 0 + g0 + g1 shows), and otherwise random values.
    /// </summary>
    private static Gradients[] Parts(Parameter[] parameters, int count, int seed)
    {
        var rng = new System.Random(seed);
        var parts = Enumerable.Range(0, count).Select(_ => new Gradients()).ToArray();
        foreach (var p in parameters)
            for (int s = 0; s < count; s++)
            {
                if (p.DType == DType.Float32)
                {
                    var g = parts[s].GetSpan<float>(p);
                    for (int i = 0; i < g.Length; i++) g[i] = (i % 7) switch { 0 => -0f, 1 => (i >> s) % 2 == 0 ? -0f : 0f, _ => (float)(rng.NextDouble() * 2 - 1) };
                }
                else
                {
                    var g = parts[s].GetSpan<double>(p);
                    for (int i = 0; i < g.Length; i++) g[i] = (i % 7) switch { 0 => -0.0, 1 => (i >> s) % 2 == 0 ? -0.0 : 0.0, _ => rng.NextDouble() * 2 - 1 };
                }
            }
        return parts;
    }

    private static Optimizer Configure(Func<Optimizer> create, string clip)
    {
        var o = create();
        switch (clip)
        {
            case "ClipNorm": o.ClipNorm = 0.5; break;
            case "GlobalClipNorm": o.GlobalClipNorm = 0.5; break;
            case "ClipValue": o.ClipValue = 0.3; break;
        }
        return o;
    }

    private static byte[] Bits(Parameter[] parameters, Optimizer o)
    {
        var bytes = new System.IO.MemoryStream();
        foreach (var p in parameters)
        {
            if (p.DType == DType.Float32) bytes.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(p.AsSpan<float>()));
            else bytes.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(p.AsSpan<double>()));
        }
        foreach (var ps in o.GetState(parameters).Parameters)
            foreach (var slot in ps.Slots)
            {
                if (slot.Float32 is float[] f) bytes.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(f.AsSpan()));
                else bytes.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(slot.Float64.AsSpan()));
            }
        return bytes.ToArray();
    }

    [TestCaseSource(nameof(Configurations))]
    public void StepOverParts_EqualsStepOnTheSummedStore_ForAnyThreadCountAndOrder(Func<Optimizer> create)
    {
        foreach (string clip in new[] { "none", "ClipNorm", "GlobalClipNorm", "ClipValue" })
            foreach (int partCount in new[] { 1, 2, 3, 5 })
            {
                // Reference: the parts summed into one cleared store, then the whole-store step on one thread.
                var refParams = Parameters(1);
                var reference = Configure(create, clip);
                var sum = new Gradients();
                for (int step = 0; step < 3; step++)
                {
                    var parts = Parts(refParams, partCount, 10 + step);
                    sum.Clear();
                    foreach (var part in parts) sum.Add(part, refParams);
                    reference.Step(refParams, sum);
                }
                byte[] expected = Bits(refParams, reference);

                foreach (int threads in new[] { 1, 2, 16 })
                {
                    var ps = Parameters(1);
                    var o = Configure(create, clip);
                    var runner = new ShuffledRunner(threads, threads);
                    for (int step = 0; step < 3; step++)
                        o.Step(ps, Parts(ps, partCount, 10 + step), runner);
                    Assert.That(runner.Calls, Is.GreaterThan(0), "the runner was used");
                    Assert.That(o.Iterations, Is.EqualTo(3));
                    byte[] actual = Bits(ps, o);
                    Assert.That(actual.AsSpan().SequenceEqual(expected), Is.True,
                        $"clip {clip}, {partCount} parts, {threads} threads: first differing byte {actual.AsSpan().CommonPrefixLength(expected)} of {expected.Length}");
                }
            }
    }

    [Test]
    public void ParameterWithGradientInOnePartOnly_IsUpdated_AndOneInNoPart_IsSkipped()
    {
        var a = Param("a", 1f, 2f);
        var b = Param("b", 3f, 4f);
        var c = Param("c", 5f, 6f);
        var p0 = new Gradients();
        var p1 = new Gradients();
        SetGradient(p0, a, [0.5f, -0.5f]);
        SetGradient(p1, a, [0.25f, 0.25f]);
        SetGradient(p1, b, [1f, 1f]);
        var o = new Sgd(learningRate: 1);
        o.Step([a, b, c], [p0, p1], new ShuffledRunner(2, 1));
        Assert.That(Values32(a), Is.EqualTo(new[] { 1f - 0.75f, 2f + 0.25f }));
        Assert.That(Values32(b), Is.EqualTo(new[] { 2f, 3f }));
        Assert.That(Values32(c), Is.EqualTo(new[] { 5f, 6f }));
        Assert.That(o.GetState([c]).Parameters[0].Slots, Is.Empty, "no state for the parameter without a gradient (Sgd has no slots)");
    }

    [Test]
    public void BadParts_AreRefused_AndNothingChanges()
    {
        var a = Param("a", 1f, 2f);
        var g = new Gradients();
        SetGradient(g, a, [1f, 1f]);
        var o = new Adam();
        var runner = new ShuffledRunner(2, 1);
        Assert.That(() => o.Step([a], ReadOnlySpan<Gradients>.Empty, runner), Throws.ArgumentException.With.Message.Contains("parts is empty"));
        Assert.That(() => o.Step([a], [g, null!], runner), Throws.ArgumentException.With.Message.Contains("parts[1] is null"));
        Assert.That(() => o.Step([a], [g], null!), Throws.ArgumentNullException);
        Assert.That(Values32(a), Is.EqualTo(new[] { 1f, 2f }));
        Assert.That(o.Iterations, Is.Zero);
    }

    /// <summary>An optimizer that does not declare an element-wise update: it sees whole parameters and a summed span.</summary>
    private sealed class WholeParameterOptimizer() : Optimizer(1.0)
    {
        public List<(string Name, int Length, float[] Gradient)> Seen { get; } = [];

        protected override void WriteConfig(OptimizerConfig config) { }

        protected override void Update(in ParameterUpdate<float> update)
        {
            Seen.Add((update.Parameter.Name, update.Value.Length, update.Gradient.ToArray()));
            for (int i = 0; i < update.Value.Length; i++) update.Value[i] -= update.Gradient[i];
        }

        protected override void Update(in ParameterUpdate<double> update) => throw new NotSupportedException();
    }

    [Test]
    public void OptimizerNotElementwise_GetsWholeParametersAndTheSummedGradient()
    {
        int n = Optimizer.ParallelMinimumElements + 5;
        var a = Param("a", new float[n]);
        var parts = new[] { new Gradients(), new Gradients() };
        SetGradient(parts[0], a, Enumerable.Repeat(1f, n).ToArray());
        SetGradient(parts[1], a, Enumerable.Repeat(2f, n).ToArray());
        var o = new WholeParameterOptimizer();
        o.Step([a], parts, new ShuffledRunner(3, 2));
        Assert.That(o.Seen, Has.Count.EqualTo(1));
        Assert.That(o.Seen[0].Length, Is.EqualTo(n));
        Assert.That(o.Seen[0].Gradient, Is.All.EqualTo(3f));
        Assert.That(Values32(a), Is.All.EqualTo(-3f));
    }
}
