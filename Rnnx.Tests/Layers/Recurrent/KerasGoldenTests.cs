using Rnnx.Layers;
using static Rnnx.Tests.Layers.Recurrent.RecurrentTestUtil;

namespace Rnnx.Tests.Layers.Recurrent;

/// <summary>
/// Keras 3 golden values from keras-team/keras at 3422977a keras/src/layers/rnn/simple_rnn_test.py, lstm_test.py and gru_test.py
/// (each case names its test function), each checked through the fused kernel and the composed
/// step loop, in float32. Setup as in the Keras tests: constant initializers kernel 0.01, recurrent 0.02, bias 0.03
/// (for LSTM with unit_forget_bias=True the bias initializer is [0.03·U, ones(U), 0.03·2U]: Keras concatenates
/// bias_initializer(U), Ones()(U), bias_initializer(2U)); input np.arange(n).reshape(shape).astype("float32").
/// Tolerances are the ones the Keras tests assert with (assertAllClose default 1e-6, or atol = rtol = 1e-5 where
/// the test says so).
/// </summary>
public class KerasGoldenTests
{
    /// <summary>Sets kernel 0.01, recurrent 0.02, bias 0.03 (LSTM forget slice 1 when <paramref name="unitForgetBias"/>).</summary>
    private static void SetConstantWeights(RNN layer, int features, bool unitForgetBias = false)
    {
        layer.Build([null, features], DType.Float32);
        var w = layer.Weights;
        w[0].Assign(Tensor.Full(w[0].Shape, 0.01));
        w[1].Assign(Tensor.Full(w[1].Shape, 0.02));
        if (w.Count > 2)
        {
            var b = Enumerable.Repeat(0.03, w[2].Size).ToArray();
            if (unitForgetBias)
            {
                int u = w[2].Size / 4;
                for (int i = u; i < 2 * u; i++) b[i] = 1.0;
            }
            w[2].Assign(Tensor.FromArray(b, w[2].Shape.ToArray()));
        }
    }

    private static double[] Rows(params double[][] rowsOfValue) => rowsOfValue.SelectMany(r => r).ToArray();

    private static double[] Repeat(int units, params double[] perRow) => perRow.SelectMany(v => Enumerable.Repeat(v, units)).ToArray();

    private static void CheckBothPaths(RNN layer, Tensor x, Tensor[]? init, double[] expected, double tol, Tensor? mask = null)
    {
        foreach (bool fused in new[] { true, false })
        {
            layer.UseFusedKernel = fused;
            var (y, _) = layer.Run(x, init, mask: mask);
            AssertClose(y.ToDoubleArray(), expected, tol, tol, fused ? "fused" : "composed");
            // and on a recording tape (tape buffers, one fused entry)
            using var tape = new Tape();
            using (tape.Activate())
            {
                var (yt, _) = layer.Run(x, init, mask: mask);
                AssertClose(yt.ToDoubleArray(), expected, tol, tol, (fused ? "fused" : "composed") + " on a tape");
            }
        }
    }

    // keras-team/keras keras/src/layers/rnn/simple_rnn_test.py, test_correctness: SimpleRNN(4), input arange(24) (2, 3, 4).
    [Test]
    public void SimpleRnnCorrectness([Values(false, true)] bool goBackwards)
    {
        var layer = new SimpleRNN(4, goBackwards: goBackwards);
        SetConstantWeights(layer, 4);
        var expected = goBackwards ? Repeat(4, 0.11144729, 0.5528889) : Repeat(4, 0.405432, 0.73605347);
        CheckBothPaths(layer, Arange(2, 3, 4), null, expected, 1e-6);
    }

    // keras-team/keras keras/src/layers/rnn/simple_rnn_test.py, test_pass_initial_state: SimpleRNN(4), input arange(24)
    // (2, 4, 3), initial_state arange(8) (2, 4).
    [Test]
    public void SimpleRnnInitialState([Values(false, true)] bool goBackwards)
    {
        var layer = new SimpleRNN(4, goBackwards: goBackwards);
        SetConstantWeights(layer, 3);
        var expected = goBackwards ? Repeat(4, 0.07344437, 0.43043602) : Repeat(4, 0.33621645, 0.6262637);
        CheckBothPaths(layer, Arange(2, 4, 3), [Arange(2, 4)], expected, 1e-6);
    }

    // keras-team/keras keras/src/layers/rnn/lstm_test.py, test_correctness: LSTM(3), input arange(72) (3, 6, 4),
    // assertAllClose(atol=1e-5, rtol=1e-5).
    [Test]
    public void LstmCorrectness([Values(false, true)] bool goBackwards)
    {
        var layer = new LSTM(3, goBackwards: goBackwards);
        SetConstantWeights(layer, 4, unitForgetBias: true);
        var expected = goBackwards ? Repeat(3, 0.35622165, 0.74789524, 0.8872726) : Repeat(3, 0.6288687, 0.86899155, 0.9460773);
        CheckBothPaths(layer, Arange(3, 6, 4), null, expected, 1e-5);
    }

    // keras-team/keras keras/src/layers/rnn/lstm_test.py, test_correctness: unit_forget_bias=False (bias 0.03 everywhere)
    // and use_bias=False.
    [Test]
    public void LstmCorrectnessBiasVariants()
    {
        var noForget = new LSTM(3, unitForgetBias: false);
        SetConstantWeights(noForget, 4, unitForgetBias: false);
        CheckBothPaths(noForget, Arange(3, 6, 4), null, Repeat(3, 0.57019705, 0.8661914, 0.9459622), 1e-5);

        var noBias = new LSTM(3, useBias: false);
        SetConstantWeights(noBias, 4);
        CheckBothPaths(noBias, Arange(3, 6, 4), null, Repeat(3, 0.54986924, 0.86226785, 0.9443936), 1e-5);
    }

    private static Tensor MaskOf(params bool[] values) => Tensor.FromArray(values.Select(v => v ? 1f : 0f).ToArray(), 2, values.Length / 2);

    // keras-team/keras keras/src/layers/rnn/lstm_test.py, test_masking: LSTM(2), input arange(24) (2, 4, 3), mask
    // [[T, T, T, F], [T, T, F, F]] (go_backwards: [[F, T, T, T], [F, F, T, T]]); a masked step repeats the previous output.
    [Test]
    public void LstmMasking([Values("last", "sequences", "backwards")] string mode)
    {
        var layer = new LSTM(2, returnSequences: mode == "sequences", goBackwards: mode == "backwards");
        SetConstantWeights(layer, 3, unitForgetBias: true);
        var mask = mode == "backwards" ? MaskOf(false, true, true, true, false, false, true, true) : MaskOf(true, true, true, false, true, true, false, false);
        var expected = mode switch
        {
            "last" => Repeat(2, 0.11755939, 0.28556206),
            "sequences" => Repeat(2, 0.01588910, 0.05552048, 0.11755939, 0.11755939, 0.14185596, 0.28556206, 0.28556206, 0.28556206),
            _ => Repeat(2, 0.15341201, 0.3844719),
        };
        CheckBothPaths(layer, Arange(2, 4, 3), null, expected, 1e-5, mask);
    }

    // keras-team/keras keras/src/layers/rnn/gru_test.py, test_masking: GRU(2), input arange(24) (2, 4, 3), mask
    // [[T, T, F, T], [T, F, F, T]] (holes in the middle); assertAllClose defaults.
    [Test]
    public void GruMasking([Values("last", "sequences", "backwards")] string mode)
    {
        var layer = new GRU(2, returnSequences: mode == "sequences", goBackwards: mode == "backwards");
        SetConstantWeights(layer, 3);
        var mask = MaskOf(true, true, false, true, true, false, false, true);
        var expected = mode switch
        {
            "last" => Repeat(2, 0.19393763, 0.30818558),
            "sequences" => Repeat(2, 0.03606692, 0.09497581, 0.09497581, 0.19393763, 0.16051409, 0.16051409, 0.16051409, 0.30818558),
            _ => Repeat(2, 0.11669192, 0.28380975),
        };
        CheckBothPaths(layer, Arange(2, 4, 3), null, expected, 1e-6, mask);
    }

    // keras-team/keras keras/src/layers/rnn/lstm_test.py, test_pass_initial_state: LSTM(2), input arange(24) (2, 4, 3),
    // initial h = c = arange(4) (2, 2), assertAllClose(atol=1e-5, rtol=1e-5).
    [Test]
    public void LstmInitialState([Values(false, true)] bool goBackwards)
    {
        var layer = new LSTM(2, goBackwards: goBackwards);
        SetConstantWeights(layer, 3, unitForgetBias: true);
        var expected = goBackwards
            ? Rows([0.13281618, 0.2790356], [0.5839337, 0.5992567])
            : Rows([0.20574439, 0.3558822], [0.64930826, 0.66276]);
        CheckBothPaths(layer, Arange(2, 4, 3), [Arange(2, 2), Arange(2, 2)], expected, 1e-5);
    }

    // keras-team/keras keras/src/layers/rnn/gru_test.py, test_correctness: GRU(3), input arange(72) (3, 6, 4), bias 0.03
    // in both rows of the (2, 9) reset_after bias; assertAllClose(atol=1e-5, rtol=1e-5).
    [Test]
    public void GruCorrectness([Values(false, true)] bool goBackwards)
    {
        var layer = new GRU(3, goBackwards: goBackwards);
        SetConstantWeights(layer, 4);
        var expected = goBackwards ? Repeat(3, 0.24406259, 0.611516, 0.3928808) : Repeat(3, 0.5217289, 0.6371659, 0.39384964);
        CheckBothPaths(layer, Arange(3, 6, 4), null, expected, 1e-5);
    }

    // keras-team/keras keras/src/layers/rnn/gru_test.py, test_correctness: reset_after=False (bias (9,)) and use_bias=False.
    [Test]
    public void GruCorrectnessVariants()
    {
        var before = new GRU(3, resetAfter: false);
        SetConstantWeights(before, 4);
        CheckBothPaths(before, Arange(3, 6, 4), null, Repeat(3, 0.51447755, 0.6426879, 0.40208298), 1e-5);

        var noBias = new GRU(3, useBias: false);
        SetConstantWeights(noBias, 4);
        CheckBothPaths(noBias, Arange(3, 6, 4), null, Repeat(3, 0.49988455, 0.64701194, 0.4103359), 1e-5);
    }

    // keras-team/keras keras/src/layers/rnn/gru_test.py, test_pass_initial_state: GRU(2), input arange(24) (2, 4, 3),
    // initial_state arange(4) (2, 2); assertAllClose default tolerance.
    [Test]
    public void GruInitialState([Values(false, true)] bool goBackwards)
    {
        var layer = new GRU(2, goBackwards: goBackwards);
        SetConstantWeights(layer, 3);
        var expected = goBackwards
            ? Rows([0.13486053, 0.23261218], [0.78257304, 0.9691353])
            : Rows([0.23774096, 0.33508456], [0.83659905, 1.0227708]);
        CheckBothPaths(layer, Arange(2, 4, 3), [Arange(2, 2)], expected, 1e-6);
    }

    // keras-team/keras keras/src/layers/rnn/gru_test.py, test_pass_return_state: the returned state equals the output.
    [Test]
    public void GruReturnStateEqualsOutput([Values(false, true)] bool fused)
    {
        var layer = new GRU(2, returnState: true);
        SetConstantWeights(layer, 3);
        layer.UseFusedKernel = fused;
        var r = layer.CallWithState(Arange(2, 4, 3), Arange(2, 2));
        Assert.That(r, Has.Length.EqualTo(2));
        Assert.That(r[1].ToDoubleArray(), Is.EqualTo(r[0].ToDoubleArray()));
        AssertClose(r[0].ToDoubleArray(), Rows([0.23774096, 0.33508456], [0.83659905, 1.0227708]), 1e-6, 1e-6, "output");
    }
}
