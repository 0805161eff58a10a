using Rnnx.Diagnostics;
using Rnnx.Layers;
using Rnnx.Losses;
using Rnnx.Models;

namespace Rnnx.Tests.Layers;

/// <summary>
/// Masks through functional graphs, as Keras 3 carries them:
/// keras/src/layers/merging/base_merge.py Merge.compute_mask ("Default implementation does an OR between the masks";
/// none when an input has none), keras/src/layers/merging/concatenate.py Concatenate.compute_mask (each mask spread over
/// its input, ones for an unmasked input, concatenated along the axis, then any() over the last axis), and
/// keras/src/layers/rnn/bidirectional.py (both directions get the mask; compute_mask gives it to the returned sequences).
/// </summary>
public class MaskedGraphTests
{
    private const int Batch = 3, Steps = 6, Features = 2;

    /// <summary>Random (batch, steps, features) data with the given (sample, step) pairs zeroed, so Masking(0) masks them.</summary>
    private static Tensor Data(int seed, params (int Sample, int Step)[] padded)
    {
        var r = new System.Random(seed);
        var v = Enumerable.Range(0, Batch * Steps * Features).Select(_ => r.NextDouble() * 2 - 1).ToArray();
        foreach (var (b, t) in padded)
            for (int f = 0; f < Features; f++) v[(b * Steps + t) * Features + f] = 0;
        return Tensor.FromArray(v, Batch, Steps, Features);
    }

    /// <summary>The (batch, steps) mask Masking(0) gives: 1 where any feature is not 0.</summary>
    private static double[] MaskOf(Tensor x)
    {
        var v = x.ToDoubleArray();
        return Enumerable.Range(0, Batch * Steps).Select(i => Enumerable.Range(0, Features).Any(f => v[i * Features + f] != 0) ? 1.0 : 0.0).ToArray();
    }

    private static readonly (int, int)[] PaddedA = [(0, 4), (0, 5), (1, 0), (2, 2)];
    private static readonly (int, int)[] PaddedB = [(0, 5), (1, 1), (2, 2), (2, 3)];

    /// <summary>Two masked branches merged, then an LSTM that reads the merged mask; the LSTM's own run with the expected mask is the reference.</summary>
    private static (double[] Got, double[] Expected) MergedThenLstm(Func<Merge> merge, bool maskB, Func<double[], double[], double[]> expectedMask)
    {
        var a = new Input([Steps, Features], name: "a");
        var b = new Input([Steps, Features], name: "b");
        var lstm = new LSTM(3, name: "reader");
        var ma = new Masking().Apply(a);
        var mb = maskB ? new Masking().Apply(b) : b;
        var merger = merge();
        var model = new Model([a, b], [lstm.Apply(merger.ApplyMany(ma, mb)[0])], seed: 5);
        model.Build(dtype: DType.Float64);
        var (xa, xb) = (Data(1, PaddedA), Data(2, PaddedB));
        var got = model.Predict([xa, xb])[0].ToDoubleArray();
        var merged = merger.CallMany([xa, xb])[0];
        var mask = expectedMask(MaskOf(xa), maskB ? MaskOf(xb) : Enumerable.Repeat(1.0, Batch * Steps).ToArray());
        var expected = lstm.Run(merged, mask: Tensor.FromArray(mask, Batch, Steps)).Output.ToDoubleArray();
        return (got, expected);
    }

    private static double[] Or(double[] x, double[] y) => x.Zip(y, (p, q) => Math.Max(p, q)).ToArray();

    [Test]
    public void AddMultiplyAverageGiveTheOrOfTheMasks([Values("add", "multiply", "average")] string kind)
    {
        Func<Merge> merge = kind switch { "add" => () => new Add(), "multiply" => () => new Multiply(), _ => () => new Average() };
        var (got, expected) = MergedThenLstm(merge, maskB: true, Or);
        Assert.That(got, Is.EqualTo(expected).Within(1e-12));
        // The reference is not trivially the unmasked run: the masks change the result.
        var (_, unmasked) = MergedThenLstm(merge, maskB: true, (x, y) => Enumerable.Repeat(1.0, x.Length).ToArray());
        Assert.That(got.Zip(unmasked, (p, q) => Math.Abs(p - q)).Max(), Is.GreaterThan(1e-3));
    }

    [Test]
    public void AMergeWithAnUnmaskedInputHasNoMask()
    {
        var (got, expected) = MergedThenLstm(() => new Add(), maskB: false, (x, y) => y);   // y: all ones, as no mask
        Assert.That(got, Is.EqualTo(expected).Within(1e-12));
    }

    [Test]
    public void ConcatenatingFeaturesOrsTheMasksAndAnUnmaskedInputCountsAsOnes()
    {
        var (got, expected) = MergedThenLstm(() => new Concatenate(), maskB: true, Or);
        Assert.That(got, Is.EqualTo(expected).Within(1e-12));
        (got, expected) = MergedThenLstm(() => new Concatenate(), maskB: false, Or);   // OR with ones: every step counts
        Assert.That(got, Is.EqualTo(expected).Within(1e-12));
    }

    [Test]
    public void ConcatenatingAlongTimePutsTheMasksOneAfterTheOther()
    {
        var a = new Input([Steps, Features], name: "a");
        var b = new Input([Steps, Features], name: "b");
        var lstm = new LSTM(3, returnSequences: true, name: "reader");
        var joined = new Concatenate(axis: 1).ApplyMany(new Masking().Apply(a), b)[0];
        var model = new Model([a, b], [lstm.Apply(joined)], seed: 5);
        model.Build(dtype: DType.Float64);
        var (xa, xb) = (Data(1, PaddedA), Data(2, PaddedB));
        var got = model.Predict([xa, xb])[0].ToDoubleArray();
        var ma = MaskOf(xa);
        var mask = Enumerable.Range(0, Batch).SelectMany(s => ma.Skip(s * Steps).Take(Steps).Concat(Enumerable.Repeat(1.0, Steps))).ToArray();
        var expected = lstm.Run(Tensor.Concat(1, xa, xb), mask: Tensor.FromArray(mask, Batch, 2 * Steps)).Output.ToDoubleArray();
        Assert.That(got, Is.EqualTo(expected).Within(1e-12));
    }

    /// <summary>A training step through a masked Concatenate (along time or features) allocates nothing once warm.</summary>
    [Test]
    public void AMaskedConcatenateTrainingStepAllocatesNothing([Values(1, -1)] int axis)
    {
        var a = new Input([Steps, Features], name: "a");
        var b = new Input([Steps, Features], name: "b");
        var joined = new Concatenate(axis).ApplyMany(new Masking().Apply(a), b)[0];
        var model = new Model([a, b], [new LSTM(3).Apply(joined)], seed: 5);
        model.Build(dtype: DType.Float64);
        model.Compile(new Rnnx.Optimizers.Sgd(0.1), Loss.MeanSquaredError);
        model.Threads = 1;
        Tensor[] x = [Data(1, PaddedA), Data(2, PaddedB)];
        Tensor[] y = [Tensor.FromArray(Enumerable.Range(0, Batch * 3).Select(i => 0.1 * i).ToArray(), Batch, 3)];
        long perStep = Rnnx.Tests.TestUtilities.SteadyStateAllocation.BytesPerRun(() => model.TrainOnBatch(x, y), warmUps: 3, measured: 10).Max();
        Assert.That(perStep, Is.Zero, $"{perStep} bytes per masked training step through Concatenate(axis: {axis})");
    }

    /// <summary>A masked call with one input checks the caller's output span as the unmasked call does, before writing.</summary>
    [Test]
    public void AMaskedCallRefusesAnOutputSpanOfAnotherLength([Values(0, 2)] int slots)
    {
        var lstm = new LSTM(3, name: "reader");
        var x = Data(1, PaddedA);
        var mask = Tensor.FromArray(MaskOf(x), Batch, Steps);
        var unmasked = Assert.Throws<ArgumentException>(() => lstm.CallMany([x], new Tensor[slots]))!;
        var masked = Assert.Throws<ArgumentException>(() => lstm.CallMany([x], [mask], new Tensor[slots]))!;
        Assert.That(masked.Message, Is.EqualTo(unmasked.Message));
        Assert.That(masked.Message, Does.Contain($"the caller expects {slots}"));
    }

    /// <summary>
    /// Right-padded sequences through a masked Bidirectional give, for every sample, what the unmasked layer gives on
    /// the sample's own steps: the forward direction stops at the last real step and the backward one starts there.
    /// </summary>
    [Test]
    public void BidirectionalSkipsPaddingInBothDirections([Values("lstm", "gru", "simple")] string cell, [Values(false, true)] bool fused)
    {
        int[] lengths = [6, 4, 2];
        var x = Data(3, [(1, 4), (1, 5), (2, 2), (2, 3), (2, 4), (2, 5)]);
        Layer Recurrent(bool sequences) => cell switch
        {
            "lstm" => new LSTM(3, returnSequences: sequences),
            "gru" => new GRU(3, returnSequences: sequences),
            _ => new SimpleRNN(3, returnSequences: sequences),
        };
        foreach (bool sequences in new[] { false, true })
        {
            var input = new Input([null, Features], name: "x");
            var bi = new Bidirectional(Recurrent(sequences)) { UseFusedKernel = fused };
            var model = new Model(input, bi.Apply(new Masking().Apply(input)), seed: 8);
            model.Build(dtype: DType.Float64);
            var got = model.Predict(x).ToDoubleArray();
            int width = 6;
            for (int s = 0; s < Batch; s++)
            {
                var own = Tensor.Slice(Tensor.Slice(x, 0, s, s + 1), 1, 0, lengths[s]);
                var alone = bi.Call(own).ToDoubleArray();
                if (!sequences)
                    Assert.That(got.Skip(s * width).Take(width), Is.EqualTo(alone).Within(1e-12), $"{cell}, sample {s}");
                else
                    for (int t = 0; t < lengths[s]; t++)
                        Assert.That(got.Skip((s * Steps + t) * width).Take(width), Is.EqualTo(alone.Skip(t * width).Take(width)).Within(1e-12), $"{cell}, sample {s}, step {t}");
            }
            var mask = Tensor.FromArray(MaskOf(x), Batch, Steps);
            Assert.That(bi.ComputeMask(x, mask) is Tensor m ? m.ToDoubleArray() : null, sequences ? Is.EqualTo(MaskOf(x)) : Is.Null, "the returned sequences carry the mask");
        }
    }

    [Test]
    public void BidirectionalWithTwoOutputsGivesBothTheMaskAndItsGradientsCheck()
    {
        var input = new Input([Steps, Features], name: "x");
        var bi = new Bidirectional(new LSTM(3, returnSequences: true, returnState: true), mergeMode: null);
        var outs = bi.ApplyMany(new Masking().Apply(input));
        var reader = new LSTM(2, name: "reader");
        var model = new Model(input, reader.Apply(new Add().ApplyMany(outs[0], outs[1])[0]), seed: 6);
        model.Build(dtype: DType.Float64);
        var x = Data(4, PaddedA);
        var got = model.Predict(x).ToDoubleArray();
        var mask = Tensor.FromArray(MaskOf(x), Batch, Steps);
        var both = new Tensor[bi.OutputCount];
        bi.CallMany([x], [mask], both);
        var expected = reader.Run(both[0] + both[1], mask: mask).Output.ToDoubleArray();
        Assert.That(got, Is.EqualTo(expected).Within(1e-12), "the Add of the two outputs carries the input's mask to the reader");

        var y = Tensor.FromArray(Enumerable.Range(0, Batch * 2).Select(i => 0.1 * i).ToArray(), Batch, 2);
        var check = GradientChecker.Check(() => Loss.MeanSquaredError.Compute(y, model.Call(x, training: true), null, null), model.Weights);
        Assert.That(check.Elements, Is.EqualTo(model.CountParams()));
    }

    [Test]
    public void OnnxExportRefusesMasksItCannotExpress()
    {
        var input = new Input([null, Features], name: "x");
        var bi = new Model(input, new Bidirectional(new LSTM(3, returnSequences: true), name: "bi").Apply(new Masking().Apply(input)));
        bi.Build();
        var ex = Assert.Throws<NotSupportedException>(() => Rnnx.Onnx.OnnxExporter.Export(bi, new Rnnx.Onnx.OnnxExportOptions { MasksAreRightPadded = true }));
        Assert.That(ex!.Message, Does.Contain("bi").And.Contain("returns sequences under a mask"));
        var unsure = new Model(input, new Bidirectional(new LSTM(3), name: "bi").Apply(new Masking().Apply(input)));
        unsure.Build();
        ex = Assert.Throws<NotSupportedException>(() => Rnnx.Onnx.OnnxExporter.Export(unsure));
        Assert.That(ex!.Message, Does.Contain("bi").And.Contain("MasksAreRightPadded"));

        var a = new Input([Steps, Features], name: "a");
        var b = new Input([Steps, Features], name: "b");
        var merged = new Model([a, b], [new LSTM(3).Apply(new Add(name: "sum").ApplyMany(new Masking().Apply(a), b)[0])]);
        merged.Build();
        ex = Assert.Throws<NotSupportedException>(() => Rnnx.Onnx.OnnxExporter.Export(merged, new Rnnx.Onnx.OnnxExportOptions { MasksAreRightPadded = true }));
        Assert.That(ex!.Message, Does.Contain("sum").And.Contain("mask"));
    }

    [Test]
    public void AMaskOnAnInitialStateIsRefused()
    {
        var lstm = new LSTM(3);
        var x = Data(5);
        var h = Tensor.Zeros(new Shape(Batch, 3), DType.Float64);
        var outputs = new Tensor[1];
        var ex = Assert.Throws<ArgumentException>(() => lstm.CallMany([x, h, h], [null, Tensor.Ones(new Shape(Batch, 3), DType.Float64), null], outputs));
        Assert.That(ex!.Message, Does.Contain("initial state 0").And.Contain("only the sequence"));
    }
}
