using Rnnx.Kernels;

namespace Rnnx.Benchmarks.Kernels;

/// <summary>
/// One training step's rows for a fused gate kernel: <c>rows</c> series of <c>steps</c> steps in the (batch, time)
/// layout (a step's rows strided by the steps), random operands in [-1, 1), and the kernel run on them in place.
/// Shared by the gate kernels' benchmarks, whose rows differ only in a kernel switch.
/// </summary>
internal sealed class GateStepOperands
{
    private readonly string _kernel;
    private readonly int _rows, _units, _lda, _ldh;
    private readonly float[] _a, _a0, _bias, _cPrev, _c, _tc, _h, _m, _mh, _dH, _dhNext, _dc0, _dcNext, _dz;

    /// <param name="kernel">"LSTM forward", "LSTM backward", "LSTM inference", "GRU forward" or "SimpleRNN forward".</param>
    /// <param name="rows">Series (rows of a step).</param>
    /// <param name="steps">Steps of each series (a step's rows are strided by them).</param>
    /// <param name="units">Units U.</param>
    public GateStepOperands(string kernel, int rows, int steps, int units)
    {
        _kernel = kernel;
        _rows = rows;
        _units = units;
        int gates = kernel.StartsWith("GRU") ? 3 : kernel.StartsWith("LSTM") ? 4 : 1;
        _lda = steps * gates * units;
        _ldh = steps * units;
        var rng = new System.Random(42);
        float[] R(int n) => Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble() * 2 - 1).ToArray();
        _a0 = R(rows * _lda);
        _a = _a0.ToArray();
        _bias = R(gates * units);
        _cPrev = R(rows * _ldh);
        _c = new float[rows * _ldh];
        _tc = R(rows * _ldh);
        _h = new float[rows * _ldh];
        _m = R(rows * gates * units);
        _mh = new float[rows * _ldh];
        _dH = R(rows * _ldh);
        _dhNext = R(rows * units);
        _dc0 = R(rows * units);
        _dcNext = _dc0.ToArray();
        _dz = new float[rows * _lda];
    }

    /// <summary>Runs the kernel once on the operands (the training forward kernels' pre-activations restored first).</summary>
    public void Run()
    {
        int rows = _rows, u = _units, lda = _lda, ldh = _ldh;
        switch (_kernel)
        {
            case "LSTM forward":
                // the gate activations overwrite a: restore the pre-activations (a copy of the rows' gate blocks)
                RestoreGates(4 * u);
                LstmKernels.ForwardStep<float>(rows, u, _a, lda, _bias, _cPrev, ldh, _c, _tc, _h, ldh);
                break;
            case "LSTM backward":
                // the gates of a0 stand in for activations (the arithmetic does not depend on their values); dc is
                // updated in place, so it starts from the same values every call (no drift into subnormals); tanh(c)
                // is taken from the cells, as the training step does without peepholes
                _dc0.CopyTo(_dcNext, 0);
                LstmKernels.BackwardStep<float>(rows, u, _dH, ldh, default, _dhNext, _dcNext, _a0, lda, _tc, _cPrev, ldh, _dz, tanhOfTc: true);
                break;
            case "LSTM inference":
                // writes σ(z_o) over a0's output-gate columns, call after call: they stay in (0, 1), and the kernel's
                // time does not depend on the values (no branches), so they are not restored
                LstmKernels.InferenceStep(rows, u, _a0, lda, _bias, _cPrev, ldh, _c, _h, ldh);
                break;
            case "GRU forward":
                RestoreGates(3 * u);
                GruKernels.ForwardStepResetAfter<float>(rows, u, _a, lda, _m, _bias, _cPrev, ldh, _mh, _h, ldh);
                break;
            default:
                SimpleRnnKernels.ForwardStep<float>(CellActivation.Tanh, rows, u, _a0, lda, _h, ldh);
                break;
        }
    }

    private void RestoreGates(int width)
    {
        for (int r = 0; r < _rows; r++) _a0.AsSpan(r * _lda, width).CopyTo(_a.AsSpan(r * _lda));
    }
}
