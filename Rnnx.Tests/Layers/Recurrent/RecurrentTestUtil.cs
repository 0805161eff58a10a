using Rnnx.Layers;
using Rnnx.Random;

namespace Rnnx.Tests.Layers.Recurrent;

/// <summary>The recurrent layer configurations the fused-kernel tests cover.</summary>
public enum CellKind { SimpleTanh, SimpleRelu, SimpleLinear, SimpleSigmoid, Lstm, GruResetAfter, GruResetBefore }

/// <summary>Helpers shared by the recurrent-layer tests: layer factory, random weights, a differentiable probe loss.</summary>
internal static class RecurrentTestUtil
{
    public static RNN Make(CellKind kind, int units, bool returnSequences = false, bool goBackwards = false, bool useBias = true,
        double dropout = 0, double recurrentDropout = 0) => kind switch
    {
        CellKind.SimpleTanh => new SimpleRNN(units, useBias: useBias, returnSequences: returnSequences, goBackwards: goBackwards, dropout: dropout, recurrentDropout: recurrentDropout),
        CellKind.SimpleRelu => new SimpleRNN(units, Activation.Relu, useBias, returnSequences, goBackwards: goBackwards, dropout: dropout, recurrentDropout: recurrentDropout),
        CellKind.SimpleLinear => new SimpleRNN(units, Activation.Linear, useBias, returnSequences, goBackwards: goBackwards, dropout: dropout, recurrentDropout: recurrentDropout),
        CellKind.SimpleSigmoid => new SimpleRNN(units, Activation.Sigmoid, useBias, returnSequences, goBackwards: goBackwards, dropout: dropout, recurrentDropout: recurrentDropout),
        CellKind.Lstm => new LSTM(units, useBias: useBias, returnSequences: returnSequences, goBackwards: goBackwards, dropout: dropout, recurrentDropout: recurrentDropout),
        CellKind.GruResetAfter => new GRU(units, useBias: useBias, resetAfter: true, returnSequences: returnSequences, goBackwards: goBackwards, dropout: dropout, recurrentDropout: recurrentDropout),
        _ => new GRU(units, useBias: useBias, resetAfter: false, returnSequences: returnSequences, goBackwards: goBackwards, dropout: dropout, recurrentDropout: recurrentDropout),
    };

    /// <summary>
    /// Builds the layer in <paramref name="dtype"/> and overwrites every weight (biases included) with U(-s, s), where
    /// s = <paramref name="scale"/>, reduced as 2/sqrt(fan-in) for matrices with more than 4 rows (keeps wide layers out
    /// of the chaotic regime, where float32 round-off is amplified step after step).
    /// </summary>
    public static void BuildRandom(RNN layer, int features, DType dtype, uint seed, double scale = 0.6)
    {
        layer.Build([null, features], dtype, new NumPyRandomState(seed));
        var rng = new NumPyRandomState(seed + 1000);
        foreach (var p in layer.Weights)
        {
            var v = rng.Rand(p.Size);
            double s = p.Shape.Rank == 2 && p.Shape[0] > 4 ? scale * 2 / Math.Sqrt(p.Shape[0]) : scale;
            for (int i = 0; i < v.Length; i++) v[i] = (2 * v[i] - 1) * s;
            p.Assign(Tensor.FromArray(v, p.Shape.ToArray()));
        }
    }

    /// <summary>numpy's <c>np.arange(n).reshape(shape).astype("float32")</c>, the input of Keras's recurrent tests.</summary>
    public static Tensor Arange(params int[] shape)
    {
        var v = new float[shape.Aggregate(1, (a, b) => a * b)];
        for (int i = 0; i < v.Length; i++) v[i] = i;
        return Tensor.FromArray(v, shape);
    }

    /// <summary>A heap tensor of U(-scale, scale) values.</summary>
    public static Tensor RandomTensor(NumPyRandomState rng, DType dtype, double scale, params int[] shape)
    {
        var v = rng.Rand(shape);
        for (int i = 0; i < v.Length; i++) v[i] = (2 * v[i] - 1) * scale;
        return Tensor.FromArray(v, shape).Copy(dtype);
    }

    /// <summary>Values and gradients of one forward/backward pass.</summary>
    public sealed class Pass
    {
        public required double[] Output;
        public required double[][] States;
        /// <summary>Gradients of x, then each weight (Keras order), then each user initial state.</summary>
        public required List<(string Name, double[] Values)> Grads;
        public int TapeEntries;
    }

    /// <summary>
    /// Runs the layer on a tape and differentiates L = Σ coefOut ⊙ output + Σ_i coefState_i ⊙ finalState_i
    /// (fixed pseudo-random coefficients, so every element gets a distinct gradient).
    /// </summary>
    public static Pass Run(RNN layer, Tensor x, Tensor[]? init, bool fused, bool useOutput = true, bool useStates = true, bool training = false)
    {
        layer.UseFusedKernel = fused;
        using var tape = new Tape();
        using (tape.Activate())
        {
            var (y, states) = layer.Run(x, init, training);
            Tensor? loss = useOutput ? Probe(y, 11) : null;
            if (useStates)
                for (int i = 0; i < states.Length; i++)
                {
                    var term = Probe(states[i], 20 + (uint)i);
                    loss = loss is Tensor l ? l + term : term;
                }
            int entries = tape.Count;
            var g = tape.Backward(loss!.Value);
            var grads = new List<(string, double[])> { ("x", g[x].ToDoubleArray()) };
            foreach (var p in layer.Weights) grads.Add((p.Name, g[p].ToDoubleArray()));
            if (init is not null)
                for (int i = 0; i < init.Length; i++) grads.Add(($"initial_state_{i}", g[init[i]].ToDoubleArray()));
            return new Pass
            {
                Output = y.ToDoubleArray(),
                States = states.Select(s => s.ToDoubleArray()).ToArray(),
                Grads = grads,
                TapeEntries = entries,
            };
        }
    }

    /// <summary>Σ c ⊙ t with c ~ U(0.5, 1.5) seeded by <paramref name="seed"/>.</summary>
    public static Tensor Probe(Tensor t, uint seed)
    {
        var rng = new NumPyRandomState(seed);
        var c = rng.Rand(t.Size);
        for (int i = 0; i < c.Length; i++) c[i] = 0.5 + c[i];
        return Tensor.Sum(t * Tensor.FromArray(c, t.Shape.ToArray()).Copy(t.DType));
    }

    /// <summary>Asserts |a − e| ≤ atol·max(1, max|e|) + rtol·|e| element-wise.</summary>
    public static void AssertClose(double[] actual, double[] expected, double rtol, double atol, string what)
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length), what + ": length");
        double scale = Math.Max(1.0, expected.Length == 0 ? 0 : expected.Max(Math.Abs));
        double worst = 0;
        int worstAt = -1;
        for (int i = 0; i < actual.Length; i++)
        {
            double err = Math.Abs(actual[i] - expected[i]);
            double tol = atol * scale + rtol * Math.Abs(expected[i]);
            Assert.That(double.IsFinite(actual[i]), Is.True, $"{what}[{i}] is {actual[i]}");
            if (err - tol > worst)
            {
                worst = err - tol;
                worstAt = i;
            }
        }
        if (worstAt >= 0)
            Assert.Fail($"{what}[{worstAt}]: {actual[worstAt]:R} vs expected {expected[worstAt]:R} (|diff| {Math.Abs(actual[worstAt] - expected[worstAt]):E3}, tol rtol {rtol} atol {atol})");
    }
}
