using Rnnx.Autodiff.Ops;
using Rnnx.Layers;
using Rnnx.Random;
using static Rnnx.Tests.Layers.Recurrent.RecurrentTestUtil;

namespace Rnnx.Tests.Layers.Recurrent;

/// <summary>
/// The fused whole-sequence kernels of SimpleRNN, LSTM and GRU against the composed step-by-step path
/// (<see cref="RNN.UseFusedKernel"/> = false): outputs, final states and every gradient (input, kernel, recurrent
/// kernel, bias, user initial states). Float64 to 1e-10, float32 to 1e-5 relative (the fused float kernels use their
/// own vectorized sigmoid/tanh and a different summation order, so they agree to a few ulp per operation, not bitwise).
/// </summary>
public class FusedCellTests
{
    private static readonly CellKind[] AllKinds = Enum.GetValues<CellKind>();

    private static (double Rtol, double Atol) Tolerance(DType dtype) => dtype == DType.Float64 ? (1e-10, 1e-12) : (1e-5, 1e-6);

    [Test, Combinatorial]
    public void FusedMatchesComposed(
        [ValueSource(nameof(AllKinds))] CellKind kind,
        [Values(DType.Float64, DType.Float32)] DType dtype,
        [Values(false, true)] bool returnSequences,
        [Values(false, true)] bool goBackwards,
        [Values(false, true)] bool userInitialStates,
        [Values("B3T7", "B1T1")] string size)
    {
        var (batch, steps) = size == "B3T7" ? (3, 7) : (1, 1);
        Compare(kind, dtype, batch, steps, features: 5, units: 4, returnSequences, goBackwards, userInitialStates, useBias: true);
    }

    /// <summary>Units that exercise the 8-wide, 4-wide and scalar lanes of the float kernels (20 = 8 + 8 + 4, 37 = 32 + 4 + 1).</summary>
    [Test, Combinatorial]
    public void FusedMatchesComposedAcrossLaneWidths(
        [ValueSource(nameof(AllKinds))] CellKind kind,
        [Values(20, 37)] int units,
        [Values(DType.Float32, DType.Float64)] DType dtype,
        [Values(false, true)] bool goBackwards)
        => Compare(kind, dtype, batch: 5, steps: 12, features: 3, units, returnSequences: true, goBackwards, userInitialStates: true, useBias: true);

    /// <summary>Narrow SimpleRNN layers (units &lt; 8) run time-major over a batch: values and gradients as the composed path.</summary>
    [Test, Combinatorial]
    public void NarrowSimpleRnnMatchesComposed(
        [Values(CellKind.SimpleTanh, CellKind.SimpleRelu, CellKind.SimpleSigmoid)] CellKind kind,
        [Values(1, 3, 7)] int units,
        [Values(DType.Float64, DType.Float32)] DType dtype,
        [Values(false, true)] bool goBackwards)
        => Compare(kind, dtype, batch: 9, steps: 11, features: 2, units, returnSequences: true, goBackwards, userInitialStates: true, useBias: true);

    /// <summary>
    /// The time-major batch path of a narrow SimpleRNN gives every series exactly (bit for bit) what the row path gives
    /// it alone (batch 1), so predictions do not depend on how a batch is composed.
    /// </summary>
    [Test, Combinatorial]
    public void NarrowSimpleRnnBatchEqualsEachSeriesAlone([Values(1, 3, 7)] int units, [Values(false, true)] bool goBackwards,
        [Values(DType.Float32, DType.Float64)] DType dtype)
    {
        const int batch = 6, steps = 13, features = 2;
        var layer = Make(CellKind.SimpleTanh, units, returnSequences: true, goBackwards: goBackwards);
        BuildRandom(layer, features, dtype, seed: 5);
        var x = RandomTensor(new NumPyRandomState(8), dtype, 1.0, batch, steps, features);
        double[] all = layer.Run(x, null).Output.ToDoubleArray();
        for (int b = 0; b < batch; b++)
        {
            var xb = Tensor.FromArray(x.ToDoubleArray().AsSpan(b * steps * features, steps * features).ToArray(), [1, steps, features]).Copy(dtype);
            double[] alone = layer.Run(xb, null).Output.ToDoubleArray();
            Assert.That(alone, Is.EqualTo(all.AsSpan(b * steps * units, steps * units).ToArray()), $"series {b}");
        }
    }

    /// <summary>
    /// One series on its own (the latency path: matrix-vector steps, and for LSTM the inference-only step; at 67 units
    /// the LSTM's recurrent kernel packed for them, with a partial last vector) gets exactly the numbers it gets as a row
    /// of a batch: outputs and final states, bit for bit.
    /// </summary>
    [Test, Combinatorial]
    public void OneSeriesEqualsItsRowInABatch([ValueSource(nameof(AllKinds))] CellKind kind, [Values(20, 37, 67)] int units,
        [Values(false, true)] bool goBackwards)
    {
        const int batch = 5, steps = 9, features = 3;
        var layer = Make(kind, units, returnSequences: true, goBackwards: goBackwards);
        BuildRandom(layer, features, DType.Float32, seed: 11);
        var x = RandomTensor(new NumPyRandomState(4), DType.Float32, 1.0, batch, steps, features);
        var (all, allStates) = layer.Run(x, null);
        float[] xs = x.ToFloatArray();
        for (int b = 0; b < batch; b++)
        {
            var xb = Tensor.FromArray(xs.AsSpan(b * steps * features, steps * features).ToArray(), 1, steps, features);
            var (alone, states) = layer.Run(xb, null);
            Assert.That(alone.ToFloatArray(), Is.EqualTo(all.ToFloatArray().AsSpan(b * steps * units, steps * units).ToArray()), $"{kind} series {b}");
            for (int i = 0; i < states.Length; i++)
                Assert.That(states[i].ToFloatArray(), Is.EqualTo(allStates[i].ToFloatArray().AsSpan(b * units, units).ToArray()), $"{kind} series {b} state {i}");
        }
    }

    /// <summary>
    /// LSTM inference on a large batch runs time-major (RecurrentOpSupport.TimeMajorMinBatch); outputs and final states
    /// equal, bit for bit, those of the row layout used while recording.
    /// </summary>
    [Test, Combinatorial]
    public void LstmLargeBatchInferenceEqualsTheRecordedPath([Values(false, true)] bool goBackwards, [Values(1, 3, 300)] int features,
        [Values(20, 67, 128)] int units, [Values(DType.Float32, DType.Float64)] DType dtype)
    {
        // 300 features: the input projection spans two k blocks; 67 units: a partial last panel of the packed kernels;
        // 128 units: the float32 step runs in row chunks (LstmBatchInference.ChunkRows: 12 rows, the last 10)
        const int batch = RecurrentOpSupport.TimeMajorMinBatch + 6, steps = 7;
        var layer = Make(CellKind.Lstm, units, returnSequences: true, goBackwards: goBackwards);
        BuildRandom(layer, features, dtype, seed: 12);
        var x = RandomTensor(new NumPyRandomState(6), dtype, 1.0, batch, steps, features);
        AssertInferenceEqualsRecording(layer, x, dtype);
    }

    /// <summary>Outputs and final states of an unrecorded run equal, bit for bit, those of a run on a recording tape.</summary>
    private static void AssertInferenceEqualsRecording(RNN layer, Tensor x, DType dtype)
    {
        var (inferred, inferredStates) = layer.Run(x, null);
        using var tape = new Tape();
        using (tape.Activate())
        {
            var (recorded, recordedStates) = layer.Run(x.Copy(dtype).RequireGrad(), null);
            Assert.That(tape.Count, Is.GreaterThan(0), "the second run records (row layout)");
            Assert.That(inferred.ToDoubleArray(), Is.EqualTo(recorded.ToDoubleArray()));
            for (int i = 0; i < recordedStates.Length; i++)
                Assert.That(inferredStates[i].ToDoubleArray(), Is.EqualTo(recordedStates[i].ToDoubleArray()), $"state {i}");
        }
    }

    /// <summary>
    /// GRU inference on a large batch runs time-major, projecting x step by step (RecurrentOpSupport.TimeMajorMinBatch):
    /// outputs equal, bit for bit, those of the row layout used while recording, with and without bias.
    /// </summary>
    [Test, Combinatorial]
    public void GruLargeBatchInferenceEqualsTheRecordedPath([Values(CellKind.GruResetAfter, CellKind.GruResetBefore)] CellKind kind,
        [Values(false, true)] bool goBackwards, [Values(1, 300)] int features, [Values(20, 67)] int units,
        [Values(DType.Float32, DType.Float64)] DType dtype, [Values(false, true)] bool useBias)
    {
        // 1 feature: x_t·W as a rank-one update (float32 reset_after: the inference-only gate kernel); 300 features: the
        // input projection spans two k blocks; 67 units: partial last panels of the packed kernels
        const int batch = RecurrentOpSupport.TimeMajorMinBatch + 6, steps = 7;
        var layer = Make(kind, units, returnSequences: true, goBackwards: goBackwards, useBias: useBias);
        BuildRandom(layer, features, dtype, seed: 13);
        var x = RandomTensor(new NumPyRandomState(7), dtype, 1.0, batch, steps, features);
        AssertInferenceEqualsRecording(layer, x, dtype);
    }

    [Test]
    public void FusedMatchesComposedWithoutBias([ValueSource(nameof(AllKinds))] CellKind kind, [Values(DType.Float64, DType.Float32)] DType dtype)
        => Compare(kind, dtype, batch: 3, steps: 6, features: 2, units: 5, returnSequences: false, goBackwards: false, userInitialStates: true, useBias: false);

    private static void Compare(CellKind kind, DType dtype, int batch, int steps, int features, int units, bool returnSequences,
        bool goBackwards, bool userInitialStates, bool useBias)
    {
        var layer = Make(kind, units, returnSequences, goBackwards, useBias);
        BuildRandom(layer, features, dtype, seed: 3 + (uint)kind);
        Assert.That(((IFusedRecurrentCell)layer.Cell).CanFuse, Is.True);
        var rng = new NumPyRandomState(7);
        var x = RandomTensor(rng, dtype, 1.0, batch, steps, features).RequireGrad();
        Tensor[]? init = userInitialStates
            ? layer.Cell.StateSizes.Select(s => RandomTensor(rng, dtype, 0.8, batch, s).RequireGrad()).ToArray()
            : null;

        var composed = Run(layer, x, init, fused: false);
        var fused = Run(layer, x, init, fused: true);

        var (rtol, atol) = Tolerance(dtype);
        AssertClose(fused.Output, composed.Output, rtol, atol, "output");
        for (int i = 0; i < composed.States.Length; i++) AssertClose(fused.States[i], composed.States[i], rtol, atol, $"final state {i}");
        Assert.That(fused.Grads.Select(g => g.Name), Is.EqualTo(composed.Grads.Select(g => g.Name)));
        for (int i = 0; i < composed.Grads.Count; i++)
            AssertClose(fused.Grads[i].Values, composed.Grads[i].Values, rtol, atol, "d/d " + composed.Grads[i].Name);
        if (steps > 1) Assert.That(fused.TapeEntries, Is.LessThan(composed.TapeEntries / 4), "the fused path records one entry per layer");
    }

    /// <summary>Only LSTM's final cell state feeds the loss: its gradient must still reach every input through the fused op.</summary>
    [Test]
    public void LstmGradientThroughFinalCellStateOnly([Values(DType.Float64, DType.Float32)] DType dtype, [Values(false, true)] bool returnSequences)
    {
        var layer = Make(CellKind.Lstm, 4, returnSequences);
        BuildRandom(layer, 3, dtype, seed: 5);
        var rng = new NumPyRandomState(9);
        var x = RandomTensor(rng, dtype, 1.0, 2, 5, 3).RequireGrad();
        var init = new[] { RandomTensor(rng, dtype, 0.5, 2, 4).RequireGrad(), RandomTensor(rng, dtype, 0.5, 2, 4).RequireGrad() };
        var composed = RunFinalCellOnly(layer, x, init, fused: false);
        var fused = RunFinalCellOnly(layer, x, init, fused: true);
        var (rtol, atol) = Tolerance(dtype);
        for (int i = 0; i < composed.Count; i++) AssertClose(fused[i], composed[i], rtol, atol, $"gradient {i}");
        Assert.That(fused[0].Any(v => v != 0), Is.True);
    }

    private static List<double[]> RunFinalCellOnly(RNN layer, Tensor x, Tensor[] init, bool fused)
    {
        layer.UseFusedKernel = fused;
        using var tape = new Tape();
        using (tape.Activate())
        {
            var (_, states) = layer.Run(x, init);
            var g = tape.Backward(Probe(states[1], 4));
            var r = new List<double[]> { g[x].ToDoubleArray() };
            r.AddRange(layer.Weights.Select(p => g[p].ToDoubleArray()));
            r.AddRange(init.Select(s => g[s].ToDoubleArray()));
            return r;
        }
    }

    /// <summary>Inference with no tape (pooled scratch instead of tape buffers) gives the same values as on a tape.</summary>
    [Test]
    public void InferenceWithoutTapeMatchesComposed([ValueSource(nameof(AllKinds))] CellKind kind, [Values(DType.Float64, DType.Float32)] DType dtype,
        [Values(false, true)] bool returnSequences)
    {
        var layer = Make(kind, 6, returnSequences, goBackwards: true);
        BuildRandom(layer, 4, dtype, seed: 11);
        var x = RandomTensor(new NumPyRandomState(2), dtype, 1.0, 3, 5, 4);
        var init = layer.Cell.StateSizes.Select(s => RandomTensor(new NumPyRandomState(3), dtype, 0.5, 3, s)).ToArray();
        layer.UseFusedKernel = false;
        var (yc, sc) = layer.Run(x, init);
        layer.UseFusedKernel = true;
        var (yf, sf) = layer.Run(x, init);
        var (rtol, atol) = Tolerance(dtype);
        AssertClose(yf.ToDoubleArray(), yc.ToDoubleArray(), rtol, atol, "output");
        for (int i = 0; i < sc.Length; i++) AssertClose(sf[i].ToDoubleArray(), sc[i].ToDoubleArray(), rtol, atol, $"state {i}");
        // Call() (zero initial states) inside a non-recording tape scope: tape scratch, no entries.
        layer.UseFusedKernel = false;
        var expected = layer.Call(x).ToDoubleArray();
        layer.UseFusedKernel = true;
        using var tape = new Tape();
        using (tape.Activate())
        using (tape.NoGrad())
        {
            var y = layer.Call(x);
            AssertClose(y.ToDoubleArray(), expected, rtol, atol, "output (no-grad tape)");
            Assert.That(tape.Count, Is.EqualTo(0));
        }
    }

    [Test]
    public void CustomActivationFallsBackToComposedLoop()
    {
        var custom = new Activation("my_tanh", Tensor.Tanh);
        Assert.That(((IFusedRecurrentCell)new SimpleRNNCell(3, custom)).CanFuse, Is.False);
        Assert.That(((IFusedRecurrentCell)new LSTMCell(3, recurrentActivation: Activation.Tanh)).CanFuse, Is.False);
        Assert.That(((IFusedRecurrentCell)new GRUCell(3, activation: Activation.Relu)).CanFuse, Is.False);
        Assert.That(((IFusedRecurrentCell)new SimpleRNNCell(3, Activation.Relu)).CanFuse, Is.True);
        Assert.That(((IFusedRecurrentCell)new LSTMCell(3)).CanFuse, Is.True);
        Assert.That(((IFusedRecurrentCell)new GRUCell(3, resetAfter: false)).CanFuse, Is.True);

        // A custom activation still trains (composed loop), with the values of the built-in one.
        var a = new SimpleRNN(3, custom, returnSequences: true);
        var b = new SimpleRNN(3, returnSequences: true);
        a.Build([null, 2], DType.Float64, new NumPyRandomState(1));
        b.Build([null, 2], DType.Float64, new NumPyRandomState(1));
        var x = RandomTensor(new NumPyRandomState(4), DType.Float64, 1.0, 2, 5, 2).RequireGrad();
        var pa = Run(a, x, null, fused: true);
        var pb = Run(b, x, null, fused: true);
        AssertClose(pa.Output, pb.Output, 1e-10, 1e-12, "output");
        for (int i = 0; i < pa.Grads.Count; i++) AssertClose(pa.Grads[i].Values, pb.Grads[i].Values, 1e-10, 1e-12, pa.Grads[i].Name);
        Assert.That(pa.TapeEntries, Is.GreaterThan(4 * pb.TapeEntries));
    }

    /// <summary>
    /// Only some inputs require a gradient (frozen kernels, data input): the op is still recorded (for the bias, or
    /// for the initial state only) and the gradients that exist match the composed path.
    /// </summary>
    [Test]
    public void PartialRequiresGrad([ValueSource(nameof(AllKinds))] CellKind kind, [Values(false, true)] bool onlyInitialState)
    {
        var layer = Make(kind, 4, returnSequences: true, goBackwards: true);
        BuildRandom(layer, 3, DType.Float64, seed: 30);
        foreach (var p in layer.Weights) p.Trainable = !onlyInitialState && p.Name.EndsWith("bias", StringComparison.Ordinal);
        var rng = new NumPyRandomState(31);
        var x = RandomTensor(rng, DType.Float64, 1.0, 2, 5, 3);
        var init = layer.Cell.StateSizes.Select(s => RandomTensor(rng, DType.Float64, 0.5, 2, s)).ToArray();
        if (onlyInitialState) init[0].RequireGrad();
        List<double[]> Pass(bool fused)
        {
            layer.UseFusedKernel = fused;
            using var tape = new Tape();
            using (tape.Activate())
            {
                var (y, _) = layer.Run(x, init);
                Assert.That(y.RequiresGrad, Is.True);
                var g = tape.Backward(Probe(y, 8));
                return onlyInitialState ? [g[init[0]].ToDoubleArray()] : [g[layer.Weights.Single(p => p.Trainable)].ToDoubleArray()];
            }
        }
        var c = Pass(false);
        var f = Pass(true);
        AssertClose(f[0], c[0], 1e-10, 1e-12, onlyInitialState ? "d/d h0" : "d/d bias");
        foreach (var p in layer.Weights) p.Trainable = true;
    }

    /// <summary>Stacked fused layers: the second layer's input gradient flows into the first layer's output (a tape tensor).</summary>
    [Test]
    public void StackedLayersMatchComposed([Values(DType.Float64, DType.Float32)] DType dtype)
    {
        var l1 = Make(CellKind.Lstm, 6, returnSequences: true);
        var l2 = Make(CellKind.GruResetAfter, 5);
        BuildRandom(l1, 2, dtype, 21);
        BuildRandom(l2, 6, dtype, 22);
        var x = RandomTensor(new NumPyRandomState(5), dtype, 1.0, 4, 9, 2).RequireGrad();
        List<double[]> Pass(bool fused)
        {
            l1.UseFusedKernel = l2.UseFusedKernel = fused;
            using var tape = new Tape();
            using (tape.Activate())
            {
                var y = l2.Call(l1.Call(x, true), true);
                var g = tape.Backward(Probe(y, 3));
                var r = new List<double[]> { y.ToDoubleArray(), g[x].ToDoubleArray() };
                r.AddRange(l1.Weights.Concat(l2.Weights).Select(p => g[p].ToDoubleArray()));
                return r;
            }
        }
        var c = Pass(false);
        var f = Pass(true);
        var (rtol, atol) = Tolerance(dtype);
        for (int i = 0; i < c.Count; i++) AssertClose(f[i], c[i], rtol, atol, $"item {i}");
    }
}
