using Rnnx.Autodiff.Ops;
using Rnnx.Layers;
using Rnnx.Models;

namespace Rnnx.Tests.Autodiff;

/// <summary>
/// The tape's pools give memory back before the step ends: each op's backward scratch when it returns, and with
/// <see cref="Tape.ReleaseIntermediateGradients"/> each op output's gradient once consumed. The gradients stay the same
/// bit for bit; only the peak of memory in use changes.
/// </summary>
public class TapeMemoryTests
{
    [Test]
    public void Arena_ReusesReleasedRanges_FirstFit_AndCoalesces()
    {
        var arena = new Arena<float>();
        var a = arena.Rent(100, out int offA, out long slotA);
        arena.Rent(50, out _, out long slotB);
        arena.Rent(10, out _, out _);
        Assert.That(arena.InUse, Is.EqualTo(160));
        arena.Release(slotA, 100);
        var c = arena.Rent(20, out int offC, out long slotC);
        Assert.That((c, offC, slotC), Is.EqualTo((a, offA, slotA)), "the first free range that fits");
        arena.Rent(64, out int offD, out _);
        Assert.That(offD, Is.EqualTo(offA + 32), "the rest of the range, 64-byte aligned (16 floats)");
        Assert.That(arena.Peak, Is.EqualTo(160));
        arena.Release(slotB, 50);   // joins nothing yet
        arena.Rent(200, out int offE, out _);
        Assert.That(offE, Is.GreaterThan(offD + 64), "too large for any free range: from the top");
        Assert.That(arena.InUse, Is.EqualTo(20 + 64 + 10 + 200));
        Assert.That(arena.Peak, Is.EqualTo(20 + 64 + 10 + 200));
        arena.Reset();
        Assert.That((arena.InUse, arena.Peak), Is.EqualTo((0L, 0L)));
        long capacity = arena.Capacity;
        arena.Rent(10, out _, out long first);
        Assert.That(first, Is.Zero);
        Assert.That(arena.Capacity, Is.EqualTo(capacity), "one array of the step's extent, kept");
    }

    [Test]
    public void Arena_ReleasingEverything_ReturnsToAnEmptySpace()
    {
        var arena = new Arena<double>();
        var slots = new List<(long Slot, int Length)>();
        for (int i = 1; i <= 6; i++)
        {
            arena.Rent(i * 7, out _, out long s);
            slots.Add((s, i * 7));
        }
        foreach (int i in new[] { 1, 3, 5, 0, 4, 2 }) arena.Release(slots[i].Slot, slots[i].Length);
        Assert.That(arena.InUse, Is.Zero);
        arena.Rent(1, out _, out long next);
        Assert.That(next, Is.Zero, "the freed ranges joined and the top came back down");
    }

    private static Sequential Model(DType dtype)
    {
        var m = new Sequential(
        [
            new Conv1D(6, 2, padding: "causal", activation: Activation.Relu, inputShape: [null, 3]),
            new Conv1D(6, 2, padding: "causal", activation: Activation.Tanh, dilationRate: 2),
            new LSTM(5, returnSequences: true),
            new TimeDistributed(new Dense(2)),
        ], "memory", seed: 7);
        m.Build(null, dtype);
        return m;
    }

    private static (float[][] Grads, long Peak, long AfterBackward) Step(Sequential m, Tensor x, Tensor y, bool release, Action<Gradients, Tensor>? inspect = null)
    {
        using var tape = new Tape { ReleaseIntermediateGradients = release };
        using (tape.Activate())
        {
            var pred = m.Call(x, training: true);
            var loss = Tensor.Mean(Tensor.Square(pred - y));
            var g = tape.Backward(loss);
            inspect?.Invoke(g, pred);
            var grads = m.TrainableWeights.Select(p => g[p].ToFloatArray()).ToArray();
            return (grads, tape.PoolPeak.Float32, tape.PoolInUse.Float32);
        }
    }

    [Test]
    public void ReleasingIntermediateGradients_SameGradients_SmallerPeak()
    {
        var m = Model(DType.Float32);
        var rng = new global::Rnnx.Random.NumPyRandomState(3);
        var x = Tensor.FromArray(Array.ConvertAll(rng.Rand(4 * 30 * 3), v => (float)v - 0.5f), 4, 30, 3);
        var y = Tensor.FromArray(Array.ConvertAll(rng.Rand(4 * 30 * 2), v => (float)v), 4, 30, 2);
        var kept = Step(m, x, y, release: false, (g, pred) => Assert.That(g.Contains(pred), "intermediates' gradients are kept by default"));
        var released = Step(m, x, y, release: true, (g, pred) =>
        {
            var ex = Assert.Throws<InvalidOperationException>(() => _ = g[pred]);
            Assert.That(ex!.Message, Does.Contain("released").And.Contain("ReleaseIntermediateGradients"));
            Assert.Throws<InvalidOperationException>(() => g.Contains(pred));
        });
        for (int i = 0; i < kept.Grads.Length; i++)
            Assert.That(released.Grads[i], Is.EqualTo(kept.Grads[i]), $"gradient of {m.TrainableWeights[i].Name}");
        TestContext.Out.WriteLine($"peak in use: keeping {kept.Peak}, releasing {released.Peak} floats");
        Assert.That(released.Peak, Is.LessThan(kept.Peak));
        Assert.That(released.AfterBackward, Is.LessThan(kept.AfterBackward));
    }

    /// <summary>
    /// A reshape hands its gradient buffer to its input instead of adding it into a new one (one buffer less at once);
    /// the gradients are the same bits. (The hand-off also turns −0 into +0 as the addition 0 + g would; no op's
    /// backward writes −0 into a gradient today, every one adds into a zeroed buffer, so that part is not observable here.)
    /// </summary>
    [Test]
    public void ReshapeHandsItsGradientOver_SameBitsAsAdding()
    {
        var c = Tensor.FromArray(new float[] { -0f, 1.5f, -2f, 0f, -0f, 3f }, 3, 2);
        uint[] Bits(bool release, out long peak)
        {
            using var tape = new Tape { ReleaseIntermediateGradients = release };
            using (tape.Activate())
            {
                // made on the tape (so the tape may hand it a buffer), and it is no op's output (so its gradient stays readable)
                var x0 = Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3).RequireGrad();
                var loss = Tensor.Sum(Tensor.Reshape(x0, new Shape(3, 2)) * c);
                var g = tape.Backward(loss);
                peak = tape.PoolPeak.Float32;
                return Array.ConvertAll(g[x0].ToFloatArray(), BitConverter.SingleToUInt32Bits);
            }
        }
        var added = Bits(false, out long addedPeak);
        var handed = Bits(true, out long handedPeak);
        Assert.That(handed, Is.EqualTo(added));
        Assert.That(handedPeak, Is.LessThan(addedPeak));
    }

    [Test]
    public void BackwardScratch_IsGivenBackAfterEachOp()
    {
        // the LSTM's backward packs Rᵀ into scratch; nothing of it is in use once Backward returns
        var m = new Sequential([new LSTM(8, returnSequences: true, inputShape: [null, 2])], "lstm", seed: 1);
        m.Build();
        var x = Tensor.FromArray(Enumerable.Range(0, 2 * 6 * 2).Select(i => (float)Math.Sin(i)).ToArray(), 2, 6, 2);
        using var tape = new Tape();
        using (tape.Activate())
        {
            var h = m.Call(x, training: true);
            var loss = Tensor.Mean(Tensor.Square(h));
            long afterForward = tape.PoolInUse.Float32;
            tape.Backward(loss);
            long gradients = tape.PoolInUse.Float32 - afterForward;
            // what stays: the gradients of the loss (one element), of the square's output and of h (2 x 6 x 8 each)
            Assert.That(gradients, Is.EqualTo(1 + 2 * (2 * 6 * 8)));
            Assert.That(tape.PoolPeak.Float32, Is.GreaterThan(tape.PoolInUse.Float32), "the backward's scratch was in use before");
        }
    }
}
