using Rnnx.Layers;
using Rnnx.Random;
using static Rnnx.Tests.Layers.Recurrent.RecurrentTestUtil;

namespace Rnnx.Tests.Tensors;

/// <summary>
/// The public whole-sequence recurrent operations (<see cref="Tensor.LstmSequence"/>, <see cref="Tensor.GruSequence"/>,
/// <see cref="Tensor.SimpleRnnSequence"/>) as a user's own layer would call them: same numbers as the built-in layers,
/// differentiable final states, and bad arguments refused with messages that name the op and the shapes.
/// </summary>
public class RecurrentSequenceTests
{
    private static Tensor Rand(uint seed, params int[] shape) => RandomTensor(new NumPyRandomState(seed), DType.Float64, 0.7, shape);

    [Test]
    public void LstmSequenceEqualsTheLstmLayer([Values(false, true)] bool returnSequences, [Values(false, true)] bool goBackwards)
    {
        var layer = new LSTM(4, returnSequences: returnSequences, goBackwards: goBackwards);
        var rnn = (RNN)layer;
        BuildRandom(rnn, 3, DType.Float64, seed: 8);
        var cell = (LSTMCell)rnn.Cell;
        var x = Rand(1, 2, 5, 3);
        Tensor h0 = Rand(2, 2, 4), c0 = Rand(3, 2, 4);
        var (expected, states) = rnn.Run(x, [h0, c0]);
        var r = Tensor.LstmSequence(x, cell.Kernel.Value, cell.RecurrentKernel.Value, cell.Bias!.Value, h0, c0,
            new RecurrentSequenceOptions { ReturnSequences = returnSequences, GoBackwards = goBackwards, ReturnStates = true });
        Assert.That(r.Output.ToDoubleArray(), Is.EqualTo(expected.ToDoubleArray()));
        Assert.That(r.FinalHidden.ToDoubleArray(), Is.EqualTo(states[0].ToDoubleArray()));
        Assert.That(r.FinalCell.ToDoubleArray(), Is.EqualTo(states[1].ToDoubleArray()));
    }

    [Test]
    public void WithoutReturnStatesNoStateIsMade()
    {
        var r = Tensor.GruSequence(Rand(1, 2, 3, 2), Rand(2, 2, 9), Rand(3, 3, 9), Rand(4, 2, 9), Rand(5, 2, 3));
        Assert.That(r.Output.Shape, Is.EqualTo(new Shape(2, 3)));
        Assert.That(r.FinalHidden.IsValid, Is.False);
        Assert.That(r.FinalCell.IsValid, Is.False);
    }

    /// <summary>
    /// Float32 training steps in row chunks (a recurrent kernel that stays in L2: x_t·W, h·R and the gate math per chunk
    /// of rows, the backward likewise) give, bit for bit, the outputs, the final cell state and every gradient of whole
    /// steps with x·W for the whole sequence up front. One feature: the input projection as a rank-one update. Also
    /// with peepholes, in float64, and with a one-row last chunk.
    /// </summary>
    [Test, Combinatorial]
    public void LstmTrainingInRowChunksEqualsWholeSteps([Values(1, 3)] int features, [Values(64, 67)] int units, [Values(false, true)] bool goBackwards,
        [Values("float32", "float64", "peepholes", "one-row last chunk")] string variant)
    {
        var dtype = variant == "float64" ? DType.Float64 : DType.Float32;
        int chunkRows = dtype == DType.Float64 ? global::Rnnx.Kernels.LstmBatchInference.ChunkRows<double>(int.MaxValue, units)
            : global::Rnnx.Kernels.LstmBatchInference.ChunkRows<float>(int.MaxValue, units);
        int batch = variant == "one-row last chunk" ? 2 * chunkRows + 1 : 50;
        const int steps = 6;
        Assert.That(batch / chunkRows, Is.GreaterThanOrEqualTo(2), "several chunks");
        Assert.That(batch % chunkRows, variant == "one-row last chunk" ? Is.EqualTo(1) : Is.Not.Zero, "a short last chunk");
        var rs = new NumPyRandomState(21);
        Tensor F(params int[] shape) => RandomTensor(rs, dtype, 0.5, shape);
        Tensor x = F(batch, steps, features), w = F(features, 4 * units), rk = F(units, 4 * units), b = F(4 * units);
        Tensor h0 = F(batch, units), c0 = F(batch, units), outWeights = F(batch, steps, units), cellWeights = F(batch, units);
        Tensor? peepholes = variant == "peepholes" ? F(3 * units) : null;
        var options = new RecurrentSequenceOptions { ReturnSequences = true, ReturnStates = true, GoBackwards = goBackwards };
        double[][] Run()
        {
            using var tape = new Tape();
            using (tape.Activate())
            {
                Tensor[] inputs = [x.Copy().RequireGrad(), w.Copy().RequireGrad(), rk.Copy().RequireGrad(), b.Copy().RequireGrad(),
                    h0.Copy().RequireGrad(), c0.Copy().RequireGrad()];
                var p = peepholes?.Copy().RequireGrad();
                var r = Tensor.LstmSequence(inputs[0], inputs[1], inputs[2], inputs[3], inputs[4], inputs[5], options, p);
                var loss = Tensor.Sum(r.Output * outWeights) + Tensor.Sum(r.FinalCell * cellWeights);
                var grads = tape.Backward(loss);
                double[][] result = [r.Output.ToDoubleArray(), r.FinalCell.ToDoubleArray(), .. inputs.Select(t => grads[t].ToDoubleArray())];
                return p is { } pp ? [.. result, grads[pp].ToDoubleArray()] : result;
            }
        }
        var chunked = Run();
        double[][] whole;
        global::Rnnx.Autodiff.Ops.LstmSequenceOp.StepsInChunks = false;
        try { whole = Run(); }
        finally { global::Rnnx.Autodiff.Ops.LstmSequenceOp.StepsInChunks = true; }
        string[] names = ["output", "final cell", "dx", "d kernel", "d recurrent kernel", "d bias", "d h0", "d c0", "d peepholes"];
        Assert.That(chunked, Has.Length.EqualTo(peepholes is null ? 8 : 9));
        for (int i = 0; i < chunked.Length; i++)
        {
            Assert.That(chunked[i], Is.EqualTo(whole[i]), names[i]);
            Assert.That(chunked[i].Any(v => v != 0), Is.True, $"{names[i]} is not all zeros");
        }
    }

    /// <summary>
    /// A loss on both final states (and not on the output) reaches the weights through the fused backward pass:
    /// the tape gradient equals a central finite difference.
    /// </summary>
    [Test]
    public void GradientThroughFinalStatesMatchesFiniteDifferences()
    {
        var x = Rand(1, 2, 4, 3);
        var w = Rand(2, 3, 12);
        var rk = Rand(3, 3, 12);
        var b = Rand(4, 12);
        Tensor h0 = Rand(5, 2, 3), c0 = Rand(6, 2, 3);
        var options = new RecurrentSequenceOptions { ReturnSequences = true, ReturnStates = true };
        double Loss(Tensor kernel)
        {
            var r = Tensor.LstmSequence(x, kernel, rk, b, h0, c0, options);
            return Tensor.Sum(Tensor.Square(r.FinalHidden)).Item() + 2 * Tensor.Sum(r.FinalCell).Item();
        }

        double[] analytic;
        using (var tape = new Tape())
        using (tape.Activate())
        {
            var wg = w.Copy().RequireGrad();
            var r = Tensor.LstmSequence(x, wg, rk, b, h0, c0, options);
            var loss = Tensor.Sum(Tensor.Square(r.FinalHidden)) + 2.0 * Tensor.Sum(r.FinalCell);
            analytic = tape.Backward(loss)[wg].ToDoubleArray();
        }
        var wv = w.ToDoubleArray();
        const double eps = 1e-6;
        foreach (int i in new[] { 0, 5, 13, 22, 35 })
        {
            var plus = (double[])wv.Clone();
            var minus = (double[])wv.Clone();
            plus[i] += eps;
            minus[i] -= eps;
            double numeric = (Loss(Tensor.FromArray(plus, 3, 12)) - Loss(Tensor.FromArray(minus, 3, 12))) / (2 * eps);
            Assert.That(analytic[i], Is.EqualTo(numeric).Within(1e-7 + 1e-6 * Math.Abs(numeric)), $"d loss / d kernel[{i}]");
        }
        Assert.That(analytic.Any(v => v != 0), Is.True);
    }

    [Test]
    public void BadArgumentsAreRefusedNamingTheOpAndShapes()
    {
        var x = Rand(1, 2, 5, 3);
        Tensor h0 = Rand(2, 2, 4), c0 = Rand(3, 2, 4);
        var ex = Assert.Throws<ShapeMismatchException>(() => Tensor.LstmSequence(x, Rand(4, 3, 15), Rand(5, 4, 16), null, h0, c0))!;
        Assert.That(ex.Message, Does.Contain("LstmSequence").And.Contain("(3, 16)").And.Contain("(3, 15)"));

        ex = Assert.Throws<ShapeMismatchException>(() => Tensor.LstmSequence(x, Rand(4, 3, 16), Rand(5, 4, 16), null, h0, Rand(6, 3, 4)))!;
        Assert.That(ex.Message, Does.Contain("c0 must be (2, 4)"));

        ex = Assert.Throws<ShapeMismatchException>(() => Tensor.GruSequence(x, Rand(4, 3, 12), Rand(5, 4, 12), Rand(6, 12), h0))!;
        Assert.That(ex.Message, Does.Contain("GruSequence").And.Contain("(2, 12)").And.Contain("reset_after"));

        ex = Assert.Throws<ShapeMismatchException>(() => Tensor.SimpleRnnSequence(Rand(1, 2, 3), Rand(4, 3, 4), Rand(5, 4, 4), null, h0))!;
        Assert.That(ex.Message, Does.Contain("SimpleRnnSequence").And.Contain("(batch, time, features)"));

        var ae = Assert.Throws<ArgumentException>(() =>
            Tensor.SimpleRnnSequence(x, Rand(4, 3, 4).Copy(DType.Float32), Rand(5, 4, 4), null, h0))!;
        Assert.That(ae.Message, Does.Contain("Float64").And.Contain("Float32"));

        ae = Assert.Throws<ArgumentException>(() => Tensor.SimpleRnnSequence(x, Rand(4, 3, 4), Rand(5, 4, 4), null, h0, (CellActivation)9))!;
        Assert.That(ae.Message, Does.Contain("unknown activation"));
    }
}
