using Rnnx.Autodiff.Ops;
using Rnnx.Diagnostics;
using Rnnx.Kernels;
using Rnnx.Layers;

namespace Rnnx.Tests.Autodiff;

/// <summary>
/// <see cref="Tensor.Conv1DBiasActivation"/> against <see cref="Tensor.Conv1D"/> followed by <see cref="Tensor.BiasActivation"/>:
/// the same values and gradients bit for bit, one buffer less kept on the tape, and a float64 gradient check through the
/// Conv1D layer (which uses it).
/// </summary>
public class Conv1DBiasActivationOpTests
{
    private static Tensor Random(int seed, params int[] shape)
    {
        var rng = new global::Rnnx.Random.NumPyRandomState((uint)seed);
        int n = shape.Aggregate(1, (a, b) => a * b);
        return Tensor.FromArray(Array.ConvertAll(rng.Rand(n), v => (float)(2 * v - 1)), shape);
    }

    private static (float[] Y, float[][] Grads, long Kept) Run(bool fused, FusedActivation act, Conv1DPadding padding, int stride, int dilation,
        int batch = 3, int length = 11, int cin = 4, int cout = 5, int kernel = 3)
    {
        var x = Random(1, batch, length, cin).RequireGrad();
        var w = Random(2, kernel, cin, cout).RequireGrad();
        var b = Random(3, cout).RequireGrad();
        using var tape = new Tape();
        using (tape.Activate())
        {
            var y = fused ? Tensor.Conv1DBiasActivation(x, w, b, act, stride, dilation, padding)
                : Tensor.BiasActivation(Tensor.Conv1D(x, w, stride, dilation, padding), b, act);
            long kept = tape.PoolInUse.Float32;
            var loss = Tensor.Sum(y * Random(4, y.Shape.Dimensions.ToArray()));
            var g = tape.Backward(loss);
            return (y.ToFloatArray(), [g[x].ToFloatArray(), g[w].ToFloatArray(), g[b].ToFloatArray()], kept);
        }
    }

    [Test]
    public void SameNumbersAsConvThenBiasActivation_OneBufferLess(
        [Values(FusedActivation.Linear, FusedActivation.Relu, FusedActivation.Tanh, FusedActivation.Sigmoid)] FusedActivation act,
        [Values(Conv1DPadding.Valid, Conv1DPadding.Same, Conv1DPadding.Causal)] Conv1DPadding padding)
    {
        int stride = padding == Conv1DPadding.Same ? 2 : 1, dilation = padding == Conv1DPadding.Causal ? 2 : 1;
        var two = Run(false, act, padding, stride, dilation);
        var one = Run(true, act, padding, stride, dilation);
        Assert.That(one.Y, Is.EqualTo(two.Y), "values");
        string[] names = ["x", "kernel", "bias"];
        for (int i = 0; i < 3; i++) Assert.That(one.Grads[i], Is.EqualTo(two.Grads[i]), $"gradient of {names[i]}");
        Assert.That(one.Kept, Is.EqualTo(two.Kept - one.Y.Length), "the pre-activation is not kept");
    }

    /// <summary>
    /// Wide channels (the kernel in 2-vector panels, the 6-row engine) and series longer than a row block (the epilogue
    /// applied block by block inside the forward for relu and linear): the same bits as the two ops.
    /// </summary>
    [Test]
    public void WideChannelsAndLongSeries_SameBitsAsConvThenBiasActivation(
        [Values(FusedActivation.Linear, FusedActivation.Relu, FusedActivation.Tanh)] FusedActivation act,
        [Values(1, 4)] int dilation)
    {
        var two = Run(false, act, Conv1DPadding.Causal, 1, dilation, batch: 2, length: 700, cin: 64, cout: 48, kernel: 2);
        var one = Run(true, act, Conv1DPadding.Causal, 1, dilation, batch: 2, length: 700, cin: 64, cout: 48, kernel: 2);
        Assert.That(Bits(one.Y), Is.EqualTo(Bits(two.Y)), "values, bit for bit");
        string[] names = ["x", "kernel", "bias"];
        for (int i = 0; i < 3; i++) Assert.That(Bits(one.Grads[i]), Is.EqualTo(Bits(two.Grads[i])), $"gradient of {names[i]}, bit for bit");
    }

    /// <summary>
    /// Two layers past L2 (one batch item per backward block) on a tape that releases gradients and values as training
    /// does, so an input's gradient may take the buffer of the output gradient the blocks are still reading (64 -> 64
    /// channels: same item size; 64 -> 48 and 48 -> 64: a larger or smaller one): the same bits as the two ops.
    /// </summary>
    [Test]
    public void LayersPastL2_OnAReleasingTape_SameBitsAsConvThenBiasActivation(
        [Values(FusedActivation.Relu, FusedActivation.Sigmoid)] FusedActivation act, [Values(48, 64)] int hidden, [Values(48, 64)] int last)
    {
        float[][] RunChain(bool fused)
        {
            const int batch = 3, length = 1000, cin = 64;
            var x = Random(1, batch, length, cin).RequireGrad();
            var w1 = Random(2, 2, cin, hidden).RequireGrad();
            var b1 = Random(3, hidden).RequireGrad();
            var w2 = Random(4, 2, hidden, last).RequireGrad();
            var b2 = Random(5, last).RequireGrad();
            using var tape = new Tape { ReleaseIntermediateGradients = true, ReleaseIntermediateValues = true };
            using (tape.Activate())
            {
                Tensor Layer(Tensor input, Tensor w, Tensor b, int dilation) => fused
                    ? Tensor.Conv1DBiasActivation(input, w, b, act, 1, dilation, Conv1DPadding.Causal)
                    : Tensor.BiasActivation(Tensor.Conv1D(input, w, 1, dilation, Conv1DPadding.Causal), b, act);
                var y = Layer(Layer(x * 2f, w1, b1, 2), w2, b2, 4);
                var g = tape.Backward(Tensor.Sum(y * Random(6, batch, length, last)));
                return [g[x].ToFloatArray(), g[w1].ToFloatArray(), g[b1].ToFloatArray(), g[w2].ToFloatArray(), g[b2].ToFloatArray()];
            }
        }
        var two = RunChain(false);
        var one = RunChain(true);
        string[] names = ["x", "kernel 1", "bias 1", "kernel 2", "bias 2"];
        for (int i = 0; i < names.Length; i++) Assert.That(Bits(one[i]), Is.EqualTo(Bits(two[i])), $"gradient of {names[i]}, bit for bit");
    }

    /// <summary>
    /// A kernel and bias computed on the tape (intermediates without a gradient when the backward reaches the op) on a
    /// tape that releases gradients: their gradients are rented while the output gradient still holds its buffer, so
    /// neither can be handed that range and clear it before the derivative is made from it. Same bits as the two ops.
    /// </summary>
    [Test]
    public void ComputedKernelAndBias_OnAReleasingTape_SameBitsAsConvThenBiasActivation(
        [Values(FusedActivation.Relu, FusedActivation.Tanh)] FusedActivation act, [Values(11, 700)] int length)
    {
        float[][] RunOnce(bool fused)
        {
            const int batch = 2, cin = 8, cout = 16, kernel = 2;
            var x = Random(1, batch, length, cin).RequireGrad();
            var w0 = Random(2, kernel, cin, cout).RequireGrad();
            var b0 = Random(3, cout).RequireGrad();
            using var tape = new Tape { ReleaseIntermediateGradients = true, ReleaseIntermediateValues = true };
            using (tape.Activate())
            {
                var w = w0 * 1.5f;
                var b = b0 * 0.5f;
                var y = fused ? Tensor.Conv1DBiasActivation(x * 2f, w, b, act, 1, 2, Conv1DPadding.Causal)
                    : Tensor.BiasActivation(Tensor.Conv1D(x * 2f, w, 1, 2, Conv1DPadding.Causal), b, act);
                // the loss's gradient goes straight into y's (no full-size gradient released before it), so y's is the
                // first free range when it is released
                var g = tape.Backward(Tensor.Sum(y));
                return [g[x].ToFloatArray(), g[w0].ToFloatArray(), g[b0].ToFloatArray()];
            }
        }
        var two = RunOnce(false);
        var one = RunOnce(true);
        string[] names = ["x", "kernel", "bias"];
        for (int i = 0; i < names.Length; i++) Assert.That(Bits(one[i]), Is.EqualTo(Bits(two[i])), $"gradient of {names[i]}, bit for bit");
    }

    /// <summary>
    /// When the input gradient shares memory with the output gradient the backward blocks still read, the derivative is
    /// made in one pass first unless every block's input gradient lands only on rows already read.
    /// </summary>
    [Test]
    public void BlockwiseDerivative_OnlyWhenTheInputGradientCannotOverwriteUnreadRows()
    {
        var buffer = new float[1000];
        ReadOnlySpan<float> all = buffer;
        Assert.That(Conv1DBiasActivationOp.PrologueBlockwise(all[..400], all[500..], 40, 40), Is.True, "disjoint");
        Assert.That(Conv1DBiasActivationOp.PrologueBlockwise(all[..400], all[..400], 40, 40), Is.True, "same place, same items");
        Assert.That(Conv1DBiasActivationOp.PrologueBlockwise(all[..300], all[..400], 30, 40), Is.True, "same start, smaller items");
        Assert.That(Conv1DBiasActivationOp.PrologueBlockwise(all[..480], all[..400], 48, 40), Is.False, "same start, larger items");
        Assert.That(Conv1DBiasActivationOp.PrologueBlockwise(all[100..500], all[..400], 40, 40), Is.False, "input gradient after the output gradient's start");
        Assert.That(Conv1DBiasActivationOp.PrologueBlockwise(all[..400], all[100..500], 40, 40), Is.True, "input gradient before it, same items");
    }

    private static int[] Bits(float[] v) => Array.ConvertAll(v, BitConverter.SingleToInt32Bits);

    /// <summary>
    /// An input's first gradient is written whole by the kernel (64 channels: the 6-row panel engine) or cleared in one
    /// pass and accumulated into (20 channels), and with a second consumer accumulated into afterwards, over series
    /// longer than a row block: the same bits as the input-gradient kernel on a zeroed buffer, the later-recorded
    /// consumer's gradient first (the tape's backward order). d sum(y .* r) / dy is r exactly.
    /// </summary>
    [Test]
    public void FirstInputGradient_SameBitsAsAccumulatingIntoZeros(
        [Values(false, true)] bool fused, [Values(1, 2)] int consumers, [Values(1, 3)] int dilation, [Values(20, 64)] int cin)
    {
        const int batch = 2, length = 900, cout = 24, kernel = 2;
        var x = Random(1, batch, length, cin).RequireGrad();
        var w = new[] { Random(2, kernel, cin, cout), Random(3, kernel, cin, cout) };
        var bias = Random(4, cout);
        var geo = Conv1DGeometry.Create(length, kernel, 1, dilation, Conv1DPadding.Causal);
        var r = new[] { Random(5, batch, geo.OutputLength, cout), Random(6, batch, geo.OutputLength, cout) };
        float[] got = [];
        using (var tape = new Tape())
        {
            // the first pass leaves its gradients in the tape's pool; the second gets the same buffers back, not zeroed,
            // so a row the kernel failed to write or clear would show the first pass's values
            for (int pass = 0; pass < 2; pass++)
            {
                using (tape.Activate())
                {
                    // an intermediate input: the tape writes a leaf's gradient into its own zeroed buffer instead
                    var xi = x * 2f;
                    Tensor loss = default;
                    for (int i = 0; i < consumers; i++)
                    {
                        var y = fused ? Tensor.Conv1DBiasActivation(xi, w[i], bias, FusedActivation.Linear, 1, dilation, Conv1DPadding.Causal)
                            : Tensor.Conv1D(xi, w[i], 1, dilation, Conv1DPadding.Causal);
                        var term = Tensor.Sum(y * (pass == 0 ? 3f * r[i] : r[i]));
                        loss = i == 0 ? term : loss + term;
                    }
                    got = tape.Backward(loss)[x].ToFloatArray();
                }
                tape.Reset();
            }
        }
        var expected = new float[batch * length * cin];
        for (int i = consumers - 1; i >= 0; i--)
            Conv1DKernels.BackwardInput<float>(r[i].ToFloatArray(), w[i].ToFloatArray(), expected, batch, cin, cout, geo);
        for (int j = 0; j < expected.Length; j++) expected[j] *= 2f;   // through x * 2, exact
        Assert.That(Bits(got), Is.EqualTo(Bits(expected)), "gradient of x, bit for bit");
    }

    [Test]
    public void Conv1DLayer_Float64GradientCheck([Values("relu", "tanh", "sigmoid", "linear")] string activation)
    {
        var layer = new Conv1D(3, 2, padding: "causal", dilationRate: 2, activation: activation);
        layer.Build([null, 2], DType.Float64);
        var rng = new global::Rnnx.Random.NumPyRandomState(5);
        foreach (var p in layer.Weights)
        {
            var v = p.Value.ToDoubleArray();
            for (int i = 0; i < v.Length; i++) v[i] = rng.Rand(1)[0] - 0.5;
            p.Assign(Tensor.FromArray(v, p.Value.Shape.Dimensions.ToArray()));
        }
        var x = Tensor.FromArray(Enumerable.Range(0, 2 * 7 * 2).Select(i => Math.Sin(0.7 * i) + 0.1).ToArray(), 2, 7, 2);
        var r = GradientChecker.CheckLayer(layer, x);
        Assert.That(r.Passed, r.Report());
        Assert.That(r.Elements, Is.EqualTo(x.Size + layer.CountParams()));
    }

    [Test]
    public void BadInput_IsRefused_NamingTheOpAndShapes()
    {
        var x = Random(1, 2, 6, 3);
        var w = Random(2, 2, 3, 4);
        var ex = Assert.Throws<ShapeMismatchException>(() => Tensor.Conv1DBiasActivation(x, w, Random(3, 5), FusedActivation.Relu));
        Assert.That(ex!.Message, Does.Contain("Conv1DBiasActivation").And.Contain("bias").And.Contain("(2, 3, 4)"));
        ex = Assert.Throws<ShapeMismatchException>(() => Tensor.Conv1DBiasActivation(Random(1, 2, 6, 2), w, Random(3, 4), FusedActivation.Relu));
        Assert.That(ex!.Message, Does.Contain("Conv1DBiasActivation").And.Contain("channels"));
        Assert.Throws<ArgumentOutOfRangeException>(() => Tensor.Conv1DBiasActivation(x, w, Random(3, 4), FusedActivation.Relu, stride: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Tensor.Conv1DBiasActivation(x, w, Random(3, 4), (FusedActivation)42));
    }
}
