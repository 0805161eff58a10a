using Rnnx.Diagnostics;
using Rnnx.Layers;
using Rnnx.Random;
using static Rnnx.Tests.Layers.Recurrent.RecurrentTestUtil;

namespace Rnnx.Tests.Layers.Recurrent;

/// <summary>
/// Recurrent layers with a (batch, time) mask, Keras semantics (keras/src/layers/rnn/rnn.py with the backend's
/// <c>rnn(mask=...)</c>, <c>zero_output_for_mask=False</c>): a masked step carries every state and repeats the previous
/// output (zeros before the first unmasked step). Checked three ways: a right-padded batch equals each sequence run
/// alone at its own length (values and gradients), the fused path equals the composed step loop on arbitrary masks,
/// and float64 central differences with respect to the input, every weight and the initial states.
/// </summary>
public class MaskedRecurrentTests
{
    private static readonly CellKind[] AllKinds = Enum.GetValues<CellKind>();

    private static readonly int[] Lengths = [5, 2, 7, 1];

    private static Tensor MaskOf(int[] lengths, int steps, DType dtype) => Tensor.SequenceMask(lengths, steps, dtype);

    /// <summary>An arbitrary mask: holes in the middle, a sample masked at the start, one fully masked, one never masked.</summary>
    private static Tensor HoledMask(DType dtype) => Tensor.FromArray(new double[]
    {
        1, 0, 1, 1, 0, 0, 1,
        0, 0, 1, 1, 1, 0, 1,
        0, 0, 0, 0, 0, 0, 0,
        1, 1, 1, 1, 1, 1, 1,
    }, 4, 7).Copy(dtype);

    [Test, Combinatorial]
    public void RightPaddedBatch_EqualsEachSequenceAlone(
        [ValueSource(nameof(AllKinds))] CellKind kind,
        [Values(false, true)] bool fused,
        [Values(false, true)] bool goBackwards)
    {
        const int steps = 7, features = 3, units = 4;
        var dtype = DType.Float64;
        var layer = Make(kind, units, returnSequences: true, goBackwards: goBackwards);
        BuildRandom(layer, features, dtype, seed: 70 + (uint)kind);
        var rng = new NumPyRandomState(71);
        var x = RandomTensor(rng, dtype, 1.0, Lengths.Length, steps, features).RequireGrad();
        var batched = Run(layer, x, null, fused, useOutput: false, useStates: true, mask: MaskOf(Lengths, steps, dtype));
        var xs = x.ToDoubleArray();
        int ns = layer.Cell.StateSizes.Count;
        var weightSums = layer.Weights.Select(p => new double[p.Size]).ToArray();
        var outputs = batched.Output;
        for (int b = 0; b < Lengths.Length; b++)
        {
            int len = Lengths[b];
            var alone = Tensor.FromArray(xs.AsSpan(b * steps * features, len * features), 1, len, features).RequireGrad();
            // The probe coefficients of sample b's final states in the batched loss.
            var pass = RunAlone(layer, alone, fused, batched, b, Lengths.Length);
            for (int i = 0; i < ns; i++)
                AssertClose(batched.States[i].AsSpan(b * layer.Cell.StateSizes[i], layer.Cell.StateSizes[i]).ToArray(), pass.States[i], 1e-12, 1e-13, $"sample {b} state {i}");
            for (int k = 0; k < steps; k++)
            {
                // go_backwards: the padding comes first (masked from the start: zeros), then the sequence reversed.
                int aloneStep = goBackwards ? k - (steps - len) : Math.Min(k, len - 1);
                var got = outputs.AsSpan((b * steps + k) * units, units).ToArray();
                var want = aloneStep < 0 ? new double[units] : pass.Output.AsSpan(aloneStep * units, units).ToArray();
                AssertClose(got, want, 1e-12, 1e-13, $"sample {b} output step {k}");
            }
            var dx = batched.Grads[0].Values.AsSpan(b * steps * features, steps * features).ToArray();
            var want_dx = new double[steps * features];
            pass.Grads[0].Values.CopyTo(want_dx, 0);
            AssertClose(dx, want_dx, 1e-10, 1e-12, $"sample {b} dx (zero at padded steps)");
            for (int w = 0; w < weightSums.Length; w++)
                for (int i = 0; i < weightSums[w].Length; i++) weightSums[w][i] += pass.Grads[1 + w].Values[i];
        }
        for (int w = 0; w < weightSums.Length; w++)
            AssertClose(batched.Grads[1 + w].Values, weightSums[w], 1e-10, 1e-12, $"d{layer.Weights[w].Name} = Σ over samples alone");
    }

    /// <summary>Sample <paramref name="b"/> alone with the probe coefficients its final states have in the batched loss.</summary>
    private static Pass RunAlone(RNN layer, Tensor x, bool fused, Pass batched, int b, int batch)
    {
        layer.UseFusedKernel = fused;
        using var tape = new Tape();
        using (tape.Activate())
        {
            var (y, states) = layer.Run(x);
            Tensor? loss = null;
            for (int i = 0; i < states.Length; i++)
            {
                int u = layer.Cell.StateSizes[i];
                var full = ProbeCoefficients(20 + (uint)i, batch * u);
                var c = Tensor.FromArray(full.AsSpan(b * u, u), 1, u);
                var term = Tensor.Sum(states[i] * c);
                loss = loss is Tensor l ? l + term : term;
            }
            var g = tape.Backward(loss!.Value);
            var grads = new List<(string, double[])> { ("x", g[x].ToDoubleArray()) };
            foreach (var p in layer.Weights) grads.Add((p.Name, g[p].ToDoubleArray()));
            return new Pass { Output = y.ToDoubleArray(), States = states.Select(s => s.ToDoubleArray()).ToArray(), Grads = grads };
        }
    }

    /// <summary>The coefficients <see cref="RecurrentTestUtil.Probe"/> uses for a tensor of <paramref name="size"/> elements.</summary>
    private static double[] ProbeCoefficients(uint seed, int size)
    {
        var c = new NumPyRandomState(seed).Rand(size);
        for (int i = 0; i < c.Length; i++) c[i] = 0.5 + c[i];
        return c;
    }

    [Test, Combinatorial]
    public void FusedMatchesComposed_OnArbitraryMasks(
        [ValueSource(nameof(AllKinds))] CellKind kind,
        [Values(DType.Float64, DType.Float32)] DType dtype,
        [Values(false, true)] bool returnSequences,
        [Values(false, true)] bool goBackwards,
        [Values(false, true)] bool userInitialStates)
    {
        const int features = 3, units = 5;
        var layer = Make(kind, units, returnSequences, goBackwards);
        BuildRandom(layer, features, dtype, seed: 90 + (uint)kind);
        var rng = new NumPyRandomState(91);
        var x = RandomTensor(rng, dtype, 1.0, 4, 7, features).RequireGrad();
        var init = userInitialStates ? layer.Cell.StateSizes.Select(s => RandomTensor(rng, dtype, 0.7, 4, s).RequireGrad()).ToArray() : null;
        var mask = HoledMask(dtype);
        var composed = Run(layer, x, init, fused: false, mask: mask);
        var fusedPass = Run(layer, x, init, fused: true, mask: mask);
        var (rtol, atol) = dtype == DType.Float64 ? (1e-10, 1e-12) : (1e-5, 1e-6);
        AssertClose(fusedPass.Output, composed.Output, rtol, atol, "output");
        for (int i = 0; i < composed.States.Length; i++) AssertClose(fusedPass.States[i], composed.States[i], rtol, atol, $"state {i}");
        for (int i = 0; i < composed.Grads.Count; i++)
            AssertClose(fusedPass.Grads[i].Values, composed.Grads[i].Values, rtol, atol, "d" + composed.Grads[i].Name);
    }

    [Test, Combinatorial]
    public void FiniteDifferences_WithMask([ValueSource(nameof(AllKinds))] CellKind kind, [Values(false, true)] bool returnSequences,
        [Values(false, true)] bool goBackwards, [Values(false, true)] bool fused)
    {
        var layer = Make(kind, 3, returnSequences, goBackwards);
        BuildRandom(layer, 3, DType.Float64, seed: 50 + (uint)kind);
        layer.UseFusedKernel = fused;
        var rng = new NumPyRandomState(51);
        var x = RandomTensor(rng, DType.Float64, 1.0, 3, 5, 3).RequireGrad();
        var init = layer.Cell.StateSizes.Select(s => RandomTensor(rng, DType.Float64, 0.7, 3, s).RequireGrad()).ToArray();
        var mask = Tensor.FromArray(new double[] { 1, 0, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0 }, 3, 5);
        Tensor Loss()
        {
            var (y, states) = layer.Run(x, init, mask: mask);
            var l = Probe(y, 11);
            for (int i = 0; i < states.Length; i++) l += Probe(states[i], 20 + (uint)i);
            return l;
        }
        var result = GradientChecker.Check(Loss, GradientCheckOptions.Default with { RecordNumeric = false },
            [x, .. layer.Weights.Select(p => p.Value), .. init]);
        Assert.That(result.Elements, Is.EqualTo(x.Size + layer.CountParams() + init.Sum(s => s.Size)));
    }

    [Test]
    public void AMaskValueOtherThanZeroOrOneIsRefused_NamingTheLayerAndPosition([Values(DType.Float32, DType.Float64)] DType dtype)
    {
        var layer = new GRU(2, returnSequences: true, name: "gru_masked");
        BuildRandom(layer, 1, dtype, seed: 3);
        var x = RandomTensor(new NumPyRandomState(4), dtype, 1.0, 2, 3, 1);
        var values = new double[] { 1, 1, 0, 1, 0.5, 0 };
        var mask = dtype == DType.Float32 ? Tensor.FromArray(values.Select(v => (float)v).ToArray(), 2, 3) : Tensor.FromArray(values, 2, 3);
        var run = Assert.Throws<ArgumentException>(() => layer.Run(x, mask: mask));
        Assert.That(run!.Message, Does.Contain("gru_masked").And.Contain("0.5").And.Contain("sample 1, step 1"));
        Assert.Throws<ArgumentException>(() => layer.Call(x, mask));
        var valid = dtype == DType.Float32 ? Tensor.FromArray(new float[] { 1, 1, 0, 1, 0, 0 }, 2, 3) : Tensor.FromArray(new double[] { 1, 1, 0, 1, 0, 0 }, 2, 3);
        Assert.That(layer.Call(x, valid).Shape, Is.EqualTo(new Shape(2, 3, 2)), "a 0/1 mask is accepted");
    }

    /// <summary>
    /// Masks made by Masking, Embedding(maskZero) and Tensor.SequenceMask are 0/1 by construction and marked so
    /// (<see cref="Tensor.IsStepMask"/>): layers skip the value scan for them and keep it for any other mask. The mark
    /// does not outlive the tensor: a tape reset recycles its storage unmarked.
    /// </summary>
    [Test]
    public void MasksMadeByMaskingLayersAreMarked_OthersAreChecked()
    {
        var x = Tensor.FromArray(new float[] { 0, 0, 1, 2, 0, 0, 3, 0, 0, 0, 0, 0 }, 2, 3, 2);
        var masking = new Masking(0);
        var fromMasking = masking.ComputeMask(x, null)!.Value;
        Assert.That(fromMasking.IsStepMask, Is.True, "Masking");
        Assert.That(fromMasking.ToFloatArray(), Is.EqualTo(new float[] { 0, 1, 0, 1, 0, 0 }));
        var embedding = new Embedding(5, 2, maskZero: true);
        Assert.That(embedding.ComputeMask(Tensor.FromArray(new float[] { 1, 0, 4, 2 }, 2, 2), null)!.Value.IsStepMask, Is.True, "Embedding(maskZero)");
        Assert.That(Tensor.SequenceMask([2, 1], 3).IsStepMask, Is.True, "SequenceMask");
        var userMask = Tensor.FromArray(new float[] { 0, 1, 0, 1, 0, 0 }, 2, 3);
        Assert.That(userMask.IsStepMask, Is.False, "a mask built from numbers is checked, whatever its values");
        Assert.That(userMask.Copy(DType.Float64).IsStepMask, Is.False, "a copy is a new tensor");
        // A layer refuses a user mask with a value other than 0 or 1, and accepts the layers' masks unscanned.
        var gru = new GRU(2, returnSequences: true, name: "gru_check");
        BuildRandom(gru, 2, DType.Float32, seed: 5);
        Assert.That(gru.Call(x, fromMasking).Shape, Is.EqualTo(new Shape(2, 3, 2)));
        var half = Tensor.FromArray(new float[] { 0, 1, 0.5f, 1, 0, 0 }, 2, 3);
        Assert.That(Assert.Throws<ArgumentException>(() => gru.Call(x, half))!.Message, Does.Contain("gru_check").And.Contain("0.5"));

        using var tape = new Tape();
        using (tape.Activate())
        {
            Assert.That(masking.ComputeMask(x, null)!.Value.IsStepMask, Is.True, "made on a tape");
        }
        tape.Reset();
        using (tape.Activate())
        {
            // The recycled storage now holds an ordinary result (a reshape view and a new tensor).
            var view = Tensor.Reshape(x, 2, 6);
            var sum = x + x;
            Assert.That(view.IsStepMask || sum.IsStepMask, Is.False, "recycled storage is not marked");
        }
    }

    [Test]
    public void MaskedSteps_RepeatThePreviousOutput_AndCarryTheStates([Values(false, true)] bool fused)
    {
        var layer = new LSTM(2, returnSequences: true);
        BuildRandom(layer, 1, DType.Float64, seed: 3);
        layer.UseFusedKernel = fused;
        var x = Tensor.FromArray(new double[] { 0.5, 0.3, -0.7, 0.9 }, 2, 2, 1);
        var h0 = Tensor.FromArray(new double[] { 0.1, 0.2, 0.3, 0.4 }, 2, 2);
        var c0 = Tensor.FromArray(new double[] { -0.1, 0.5, 0.2, 0.0 }, 2, 2);
        // Sample 0: step 1 masked; sample 1: both steps masked.
        var mask = Tensor.FromArray(new double[] { 1, 0, 0, 0 }, 2, 2);
        var (y, states) = layer.Run(x, [h0, c0], mask: mask);
        var o = y.ToDoubleArray();
        Assert.That(o[2..4], Is.EqualTo(o[0..2]), "a masked step repeats the previous output");
        Assert.That(o[4..8], Is.EqualTo(new double[4]), "before any unmasked step the output is zeros (Keras's zero initial output), not h0");
        Assert.That(states[0].ToDoubleArray()[2..4], Is.EqualTo(new[] { 0.3, 0.4 }), "a fully masked sample keeps its initial hidden state");
        Assert.That(states[1].ToDoubleArray()[2..4], Is.EqualTo(new[] { 0.2, 0.0 }), "and its initial cell state");
        Assert.That(states[0].ToDoubleArray()[0..2], Is.EqualTo(o[0..2]), "the final hidden state is the last unmasked step's");
    }

    [Test]
    public void Mask_OfTheWrongShape_IsRefusedNamingTheLayer()
    {
        var layer = new GRU(2, name: "gru_masked");
        var x = Tensor.Zeros(new Shape(2, 3, 1));
        var ex = Assert.Throws<ArgumentException>(() => layer.Run(x, mask: Tensor.Ones(new Shape(2, 4))));
        Assert.That(ex!.Message, Does.Contain("gru_masked").And.Contain("(2, 4)").And.Contain("(2, 3, 1)"));
    }
}
