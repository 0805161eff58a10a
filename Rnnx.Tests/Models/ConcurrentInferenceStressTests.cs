using System.Collections.Concurrent;
using System.Diagnostics;
using Rnnx.Models;
using Rnnx.Optimizers;

namespace Rnnx.Tests.Models;

/// <summary>
/// One model instance serving many threads: every chapter model, 16 threads, batch sizes 1..300, Predict(Tensor),
/// Predict(float[], shape) and Evaluate mixed, every answer compared bit for bit with the same call made alone.
/// The budget is RNNX_STRESS_SECONDS (CI's SIMD-path reruns use a shorter one).
/// </summary>
[NonParallelizable]
public class ConcurrentInferenceStressTests
{
    private const int Threads = 16, Samples = 300, Steps = 50;

    private enum Kind { PredictTensor, PredictArray, Evaluate }

    private sealed record Request(int Model, Kind Kind, int Start, int Count, int BatchSize);

    private sealed class Served(Sequential model, Tensor x, Tensor y)
    {
        public Sequential Model { get; } = model;
        public Tensor X { get; } = x;
        public Tensor Y { get; } = y;
    }

    private static double BudgetSeconds =>
        double.TryParse(Environment.GetEnvironmentVariable("RNNX_STRESS_SECONDS"), System.Globalization.CultureInfo.InvariantCulture, out var s) && s > 0 ? s : 4;

    [Test]
    public void EveryChapterModel_SixteenThreads_MixedCalls_BitIdenticalToSequential()
    {
        var rng = new System.Random(15);
        var served = new List<Served>();
        foreach (var spec in Rnnx.Cli.ChapterModels.All)
        {
            var m = spec.Create(seed: 7);
            m.Compile(new Adam(), "mse");
            var xs = new float[Samples * Steps];
            for (int i = 0; i < xs.Length; i++) xs[i] = (float)(rng.NextDouble() - 0.5);
            var x = Tensor.FromArray(xs, Samples, Steps, 1);
            // Targets shaped like the predictions, drawn independently of them.
            var outShape = m.Predict(Tensor.FromArray(xs.AsSpan(0, Steps), 1, Steps, 1)).Shape.With(0, Samples);
            var ys = new float[outShape.Size];
            for (int i = 0; i < ys.Length; i++) ys[i] = (float)(rng.NextDouble() - 0.5);
            served.Add(new Served(m, x, Tensor.FromArray(ys, outShape.ToArray())));
        }

        // requests[i] is of kind i mod 3; a short budget (CI's reruns on the slower SIMD paths) checks fewer requests
        int requestsPerModel = BudgetSeconds >= 3 ? 24 : 12;
        var requests = new List<Request>();
        for (int m = 0; m < served.Count; m++)
            for (int r = 0; r < requestsPerModel; r++)
            {
                int count = r switch { 0 => 1, 1 => Samples, 2 => 2, _ => 1 + rng.Next(Samples) };
                int start = rng.Next(Samples - count + 1);
                requests.Add(new Request(m, (Kind)(r % 3), start, count, r % 4 == 0 ? 300 : 1 + rng.Next(64)));
            }

        // The answers of the calls made one after another.
        var expected = requests.Select(r => Run(served[r.Model], r)).ToArray();

        var failures = new ConcurrentQueue<string>();
        var calls = new int[3];
        var deadline = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            var local = new System.Random(100 + t);
            // The first call of each thread is of kind t mod 3, so every kind runs concurrently however short the budget.
            for (bool first = true; first || deadline.Elapsed.TotalSeconds < BudgetSeconds && failures.Count < 10; first = false)
            {
                int i = first ? 3 * local.Next(requests.Count / 3) + t % 3 : local.Next(requests.Count);
                var r = requests[i];
                try
                {
                    var got = Run(served[r.Model], r);
                    if (!got.AsSpan().SequenceEqual(expected[i]))
                        failures.Enqueue($"{served[r.Model].Model.Name} {r}: differs from the sequential answer");
                    Interlocked.Increment(ref calls[(int)r.Kind]);
                }
                catch (Exception e)
                {
                    failures.Enqueue($"{served[r.Model].Model.Name} {r}: {e.GetType().Name}: {e.Message}");
                }
            }
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());

        TestContext.Out.WriteLine($"{deadline.Elapsed.TotalSeconds:F1}s: {calls[0]} Predict(Tensor), {calls[1]} Predict(float[]), {calls[2]} Evaluate calls on {served.Count} models from {Threads} threads");
        Assert.That(failures, Is.Empty);
        Assert.That(calls, Has.All.GreaterThan(0), "every kind of call ran concurrently");
    }

    /// <summary>A request's answer as raw bytes: the predictions, or the loss and metric values.</summary>
    private static byte[] Run(Served s, Request r)
    {
        var xs = s.X.AsSpan<float>().Slice(r.Start * Steps, r.Count * Steps);
        switch (r.Kind)
        {
            case Kind.PredictTensor:
                return Bytes(s.Model.Predict(Tensor.FromArray(xs, r.Count, Steps, 1), r.BatchSize).ToFloatArray());
            case Kind.PredictArray:
                return Bytes(s.Model.Predict(xs.ToArray(), r.Count, Steps, 1));
            default:
                int rowY = s.Y.Size / Samples;
                var y = Tensor.FromArray(s.Y.AsSpan<float>().Slice(r.Start * rowY, r.Count * rowY), s.Y.Shape.With(0, r.Count).ToArray());
                var e = s.Model.Evaluate(Tensor.FromArray(xs, r.Count, Steps, 1), y, r.BatchSize);
                return Bytes(e.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Value).ToArray());
        }
    }

    private static byte[] Bytes<T>(T[] values) where T : unmanaged => System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
}
