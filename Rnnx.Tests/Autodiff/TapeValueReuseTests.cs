using Rnnx.Autodiff.Ops;
using Rnnx.Layers;
using Rnnx.Models;
using Rnnx.Optimizers;

namespace Rnnx.Tests.Autodiff;

/// <summary>
/// <see cref="Tape.ReleaseIntermediateValues"/>: the backward pass writes a convolution's activation gradient over the
/// convolution's output once nothing reads it, except where the tape knows the value escapes (kept, viewed, the output
/// differentiated). The gradients stay the same bit for bit; a value written over cannot be read by mistake.
/// </summary>
public class TapeValueReuseTests
{
    private static Tensor Leaf(int seed, params int[] shape)
    {
        var rng = new global::Rnnx.Random.NumPyRandomState((uint)seed);
        int n = shape.Aggregate(1, (a, b) => a * b);
        return Tensor.FromArray(Array.ConvertAll(rng.Rand(n), v => (float)v - 0.5f), shape);
    }

    private static uint[] Bits(Tensor t) => Array.ConvertAll(t.ToFloatArray(), BitConverter.SingleToUInt32Bits);

    /// <summary>
    /// conv(relu) → conv(relu) → (reshape there and back) → conv(tanh) → mean square; the parameters' gradients and the peak.
    /// The values handed to the callbacks: the three convolutions' outputs and the view (or y2 again).
    /// </summary>
    private static (uint[][] Grads, long Peak) Chain(bool reuse, bool view, Action<Tape, Tensor[]>? beforeBackward = null, Action<Tensor[]>? afterBackward = null)
    {
        var x = Leaf(1, 3, 40, 4);
        Tensor[] p = [Leaf(2, 2, 4, 6).RequireGrad(), Leaf(3, 6).RequireGrad(), Leaf(4, 2, 6, 6).RequireGrad(), Leaf(5, 6).RequireGrad(),
            Leaf(6, 2, 6, 5).RequireGrad(), Leaf(7, 5).RequireGrad()];
        using var tape = new Tape { ReleaseIntermediateGradients = true, ReleaseIntermediateValues = reuse };
        using (tape.Activate())
        {
            var y1 = Tensor.Conv1DBiasActivation(x, p[0], p[1], FusedActivation.Relu, padding: Conv1DPadding.Causal);
            var y2 = Tensor.Conv1DBiasActivation(y1, p[2], p[3], FusedActivation.Relu, dilation: 2, padding: Conv1DPadding.Causal);
            var flat = view ? Tensor.Reshape(y2, new Shape(3 * 40, 6)) : y2;
            var y3 = Tensor.Conv1DBiasActivation(view ? Tensor.Reshape(flat, new Shape(3, 40, 6)) : y2, p[4], p[5], FusedActivation.Tanh, padding: Conv1DPadding.Causal);
            var loss = Tensor.Mean(Tensor.Square(y3));
            Tensor[] values = [y1, y2, flat, y3];
            beforeBackward?.Invoke(tape, values);
            var g = tape.Backward(loss);
            afterBackward?.Invoke(values);
            return (p.Select(q => Bits(g[q])).ToArray(), tape.PoolPeak.Float32);
        }
    }

    [Test]
    public void WritingOverDeadValues_SameGradients_SmallerPeak()
    {
        var kept = Chain(reuse: false, view: false);
        var reused = Chain(reuse: true, view: false);
        for (int i = 0; i < kept.Grads.Length; i++) Assert.That(reused.Grads[i], Is.EqualTo(kept.Grads[i]), $"parameter {i}");
        var viewed = Chain(reuse: true, view: true);
        for (int i = 0; i < kept.Grads.Length; i++) Assert.That(viewed.Grads[i], Is.EqualTo(kept.Grads[i]), $"parameter {i}, y2 viewed");
        TestContext.Out.WriteLine($"peak in use: {kept.Peak} floats without, {reused.Peak} with");
        Assert.That(reused.Peak, Is.LessThan(kept.Peak));
    }

    [TestCase(DType.Float32)]
    [TestCase(DType.Float64)]
    public void AModelsGradients_AreTheSameBits_WithValuesWrittenOver(DType dtype)
    {
        var m = new Sequential(
        [
            new Conv1D(6, 2, padding: "causal", activation: Activation.Relu, inputShape: [null, 3]),
            new Conv1D(6, 2, padding: "causal", activation: Activation.Tanh, dilationRate: 2),
            new LSTM(5, returnSequences: true),
            new TimeDistributed(new Dense(2)),
        ], "reuse", seed: 7);
        m.Build(null, dtype);
        Tensor Data(int seed, params int[] shape) =>
            dtype == DType.Float32 ? Leaf(seed, shape) : Tensor.FromArray(Leaf(seed, shape).ToDoubleArray(), shape);
        var x = Data(10, 4, 30, 3);
        var y = Data(11, 4, 30, 2);
        double[][] Grads(bool reuse, out long peak)
        {
            using var tape = new Tape { ReleaseIntermediateGradients = true, ReleaseIntermediateValues = reuse };
            using (tape.Activate())
            {
                var g = tape.Backward(Tensor.Mean(Tensor.Square(m.Call(x, training: true) - y)));
                peak = dtype == DType.Float32 ? tape.PoolPeak.Float32 : tape.PoolPeak.Float64;
                return m.TrainableWeights.Select(p => g[p].ToDoubleArray()).ToArray();
            }
        }
        var kept = Grads(false, out long keptPeak);
        var reused = Grads(true, out long reusedPeak);
        for (int i = 0; i < kept.Length; i++)
            Assert.That(reused[i].Select(BitConverter.DoubleToInt64Bits), Is.EqualTo(kept[i].Select(BitConverter.DoubleToInt64Bits)), m.TrainableWeights[i].Name);
        Assert.That(reusedPeak, Is.LessThan(keptPeak));
    }

    [Test]
    public void EscapingValues_AreNotWrittenOver_DeadOnesCannotBeRead()
    {
        uint[][]? before = null;
        Chain(reuse: true, view: true,
            beforeBackward: (tape, v) =>
            {
                tape.KeepValue(v[0]);   // y1: kept by the caller
                before = v.Select(Bits).ToArray();
            },
            afterBackward: v =>
            {
                Assert.That(Bits(v[0]), Is.EqualTo(before![0]), "a kept value");
                Assert.That(Bits(v[1]), Is.EqualTo(before[1]), "a value with a view");
                Assert.That(Bits(v[2]), Is.EqualTo(before[2]), "the view");
                Assert.That(v[3].IsValid, Is.False, "y3 was written over");
                var ex = Assert.Throws<InvalidOperationException>(() => v[3].ToFloatArray());
                Assert.That(ex!.Message, Does.Contain("ReleaseIntermediateValues").And.Contain("KeepValue"));
            });
    }

    /// <summary>
    /// With intermediate gradients kept, an intermediate whose value the backward gave back still has its gradient: the
    /// same bits as without giving values back.
    /// </summary>
    [Test]
    public void AnIntermediatesGradient_IsReadable_AfterItsValueWasGivenBack()
    {
        uint[] GradientOfY1(bool reuse, out bool valueGone)
        {
            var x = Leaf(1, 3, 40, 4);
            var k1 = Leaf(2, 2, 4, 6).RequireGrad();
            var b1 = Leaf(3, 6).RequireGrad();
            var k2 = Leaf(4, 2, 6, 5).RequireGrad();
            var b2 = Leaf(5, 5).RequireGrad();
            using var tape = new Tape { ReleaseIntermediateValues = reuse };
            using (tape.Activate())
            {
                var y1 = Tensor.Conv1DBiasActivation(x, k1, b1, FusedActivation.Relu, padding: Conv1DPadding.Causal);
                var y2 = Tensor.Conv1DBiasActivation(y1, k2, b2, FusedActivation.Tanh, padding: Conv1DPadding.Causal);
                var g = tape.Backward(Tensor.Mean(Tensor.Square(y2)));
                valueGone = !y1.IsValid;
                Assert.That(g.Contains(y1), Is.True);
                return Bits(g[y1]);
            }
        }
        var kept = GradientOfY1(reuse: false, out bool keptGone);
        var reused = GradientOfY1(reuse: true, out bool reusedGone);
        Assert.That(keptGone, Is.False);
        Assert.That(reusedGone, Is.True, "y1's value was given back (else this test checks nothing)");
        Assert.That(reused, Is.EqualTo(kept));
    }

    [Test]
    public void TheDifferentiatedOutput_IsNotWrittenOver()
    {
        var x = Leaf(1, 2, 10, 3);
        var k = Leaf(2, 2, 3, 4).RequireGrad();
        var b = Leaf(3, 4).RequireGrad();
        using var tape = new Tape { ReleaseIntermediateGradients = true, ReleaseIntermediateValues = true };
        using (tape.Activate())
        {
            var y = Tensor.Conv1DBiasActivation(x, k, b, FusedActivation.Relu, padding: Conv1DPadding.Causal);
            var before = Bits(y);
            tape.Backward(y, Tensor.Full(y.Shape, 0.5, DType.Float32));
            Assert.That(Bits(y), Is.EqualTo(before));
        }
    }

    [Test]
    public void TrainingAModelWhoseOutputIsAConvolutionWithAnActivation_ReadsNoValueWrittenOver()
    {
        // the training step writes over dead values (forced here: the model is below the size where the step does it on
        // its own); its output (the prediction, written over) must not be read after Backward, and the weights after
        // three steps are the same bits as without giving values back
        double[][] Train(long threshold)
        {
            var m = new Sequential(
            [
                new Conv1D(4, 2, padding: "causal", activation: Activation.Relu, inputShape: [null, 2]),
                new Conv1D(3, 2, padding: "causal", activation: Activation.Sigmoid, dilationRate: 2),
            ], "conv-out", seed: 5) { ValueReleaseThreshold = threshold };
            m.Compile(new Adam(0.01), "mse", "mae");
            var x = Leaf(8, 6, 12, 2);
            var y = Leaf(9, 6, 12, 3);
            double[] losses = new double[3];
            Assert.DoesNotThrow(() => { for (int i = 0; i < losses.Length; i++) losses[i] = m.TrainOnBatch(x, y); });
            Assert.That(losses, Is.All.Matches<double>(double.IsFinite));
            Assert.That(losses[2], Is.LessThan(losses[0]), "the steps trained the model");
            return m.GetWeights().Select(w => w.ToDoubleArray()).ToArray();
        }
        var reused = Train(threshold: 0);
        var kept = Train(threshold: long.MaxValue);
        for (int i = 0; i < kept.Length; i++)
            Assert.That(reused[i].Select(BitConverter.DoubleToInt64Bits), Is.EqualTo(kept[i].Select(BitConverter.DoubleToInt64Bits)), $"weight {i}");
    }
}
