using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using Rnnx.Autodiff;
using Rnnx.Kernels;
using static Rnnx.Layers.FusedRecurrent;

namespace Rnnx.Layers;

public sealed partial class GRUCell : IFusedRecurrentCell
{
    bool IFusedRecurrentCell.CanFuse =>
        ReferenceEquals(Activation, Activation.Tanh) && ReferenceEquals(RecurrentActivation, Activation.Sigmoid);

    Tensor IFusedRecurrentCell.ForwardSequence(Tensor x, ReadOnlySpan<Tensor> initialStates, bool returnSequences, bool goBackwards, Span<Tensor> finalStates)
    {
        var h = FusedGruOp.Apply(x, Kernel.Value, RecurrentKernel.Value, Bias?.Value, initialStates[0], ResetAfter, goBackwards);
        var hd = h.Data;
        var output = returnSequences ? h : SequenceLastStepOp.Apply(hd, hd);
        if (finalStates.Length > 0) finalStates[0] = returnSequences ? SequenceLastStepOp.Apply(hd, hd) : output;
        return output;
    }
}

/// <summary>
/// A whole GRU sequence as one tape entry (Keras semantics, gates z, r, h). Output: the hidden sequence H (B, T, U) in
/// processing order. Inputs A = x (B, T, F), B = kernel (F, 3U), C = recurrent kernel (U, 3U); extra inputs
/// [h0, bias?]. I0 = reset_after, I1 = goBackwards. Saved: S0 = [z, r, ĥ] (B, T, 3U) by time index and S1 =
/// m_h = h·R_h + b_h (reset_after) or r ⊙ h (reset_after = false), (B, T, U) by time index.
/// <list type="bullet">
/// <item>reset_after: x_* = x·W + b_x, m_* = h·R + b_h; z = σ(x_z + m_z), r = σ(x_r + m_r), ĥ = tanh(x_h + r ⊙ m_h).</item>
/// <item>reset_after = false: x_* = x·W + b; z = σ(x_z + h·R_z), r = σ(x_r + h·R_r), ĥ = tanh(x_h + (r ⊙ h)·R_h).</item>
/// </list>
/// Both: h' = z ⊙ h + (1 − z) ⊙ ĥ.
/// </summary>
internal sealed class FusedGruOp : Op
{
    public static readonly FusedGruOp Instance = new();

    public override string Name => "FusedGRU";

    public static Tensor Apply(Tensor x, Tensor kernel, Tensor recurrent, Tensor? bias, Tensor h0, bool resetAfter, bool goBackwards)
    {
        TensorData dx = x.Data, dw = kernel.Data, dr = recurrent.Data, dh0 = h0.Data;
        TensorData? db = bias?.Data;
        int batch = dx.Shape[0], steps = dx.Shape[1], features = dx.Shape[2], units = dr.Shape[0];
        Debug.Assert(dw.Shape == new Shape(features, 3 * units) && dr.Shape == new Shape(units, 3 * units) && dh0.Shape == new Shape(batch, units));
        Debug.Assert(db is null || db.Length == (resetAfter ? 6 : 3) * units);
        if (dw.DType != dx.DType || dr.DType != dx.DType || dh0.DType != dx.DType || (db is not null && db.DType != dx.DType))
            throw new ArgumentException($"GRU: input {dx.DType}, weights and initial state must share one dtype.");
        var rec = Recorder(dx, dw, dr, db, dh0, null);
        var h = Tape.NewResult(new Shape(batch, steps, units), dx.DType);
        TensorData? gates, aux;
        if (dx.DType == DType.Float32) Forward<float>(rec, dx, dw, dr, db, dh0, h, resetAfter, goBackwards, out gates, out aux);
        else Forward<double>(rec, dx, dw, dr, db, dh0, h, resetAfter, goBackwards, out gates, out aux);
        if (rec is not null)
        {
            ref var e = ref rec.Record(Instance, h);
            e.A = dx;
            e.B = dw;
            e.C = dr;
            e.ExtraStart = rec.ExtraInputs.Count;
            rec.ExtraInputs.Add(dh0);
            if (db is not null) rec.ExtraInputs.Add(db);
            e.ExtraCount = db is null ? 1 : 2;
            e.I0 = resetAfter ? 1 : 0;
            e.I1 = goBackwards ? 1 : 0;
            e.S0 = gates;
            e.S1 = aux;
        }
        return new Tensor(h);
    }

    private static void Forward<T>(Tape? rec, TensorData x, TensorData w, TensorData r, TensorData? bias, TensorData h0, TensorData h,
        bool resetAfter, bool goBackwards, out TensorData? gatesData, out TensorData? auxData)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int batch = x.Shape[0], steps = x.Shape[1], features = x.Shape[2], units = r.Shape[0], g3 = 3 * units;
        int rows = batch * steps, ldA = steps * g3, ldH = steps * units;
        var dtype = x.DType;
        using var scratch = new Scratch<T>(Tape.Current, rows * g3 + rows * units + batch * g3 + g3);
        var a = scratch.Saved(rec, new Shape(batch, steps, g3), dtype, out gatesData);
        var aux = scratch.Saved(rec, new Shape(batch, steps, units), dtype, out auxData);

        MatMulKernels.Gemm<T>(false, false, rows, g3, features, x.Span<T>(), features, w.Span<T>(), g3, a, g3, false);
        if (bias is not null) AddBiasRows<T>(a, rows, g3, g3, bias.Span<T>()[..g3]);   // + b_x (reset_after) or + b
        var hs = h.Span<T>();
        ReadOnlySpan<T> rk = r.Span<T>(), hInit = h0.Span<T>();
        if (resetAfter)
        {
            ReadOnlySpan<T> bh = bias is not null ? bias.Span<T>()[g3..] : scratch.Zeroed(g3);
            var m = scratch.Get(batch * g3);
            for (int k = 0; k < steps; k++)
            {
                int t = TimeOf(k, steps, goBackwards);
                ReadOnlySpan<T> hPrev = k == 0 ? hInit : hs[((k - 1) * units)..];
                int ldPrev = k == 0 ? units : ldH;
                MatMulKernels.Gemm<T>(false, false, batch, g3, units, hPrev, ldPrev, rk, g3, m, g3, false);
                ForwardStepResetAfter<T>(batch, units, a[(t * g3)..], ldA, m, bh, hPrev, ldPrev, aux[(t * units)..], hs[(k * units)..], ldH);
            }
        }
        else
        {
            for (int k = 0; k < steps; k++)
            {
                int t = TimeOf(k, steps, goBackwards);
                ReadOnlySpan<T> hPrev = k == 0 ? hInit : hs[((k - 1) * units)..];
                int ldPrev = k == 0 ? units : ldH;
                var at = a[(t * g3)..];
                var rh = aux[(t * units)..];
                MatMulKernels.Gemm<T>(false, false, batch, 2 * units, units, hPrev, ldPrev, rk, g3, at, ldA, true);
                GatesStep<T>(batch, units, at, ldA, hPrev, ldPrev, rh, ldH);
                MatMulKernels.Gemm<T>(false, false, batch, units, units, rh, ldH, rk[(2 * units)..], g3, at[(2 * units)..], ldA, true);
                CandidateStep<T>(batch, units, at, ldA, hPrev, ldPrev, hs[(k * units)..], ldH);
            }
        }
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        if (e.Out.DType == DType.Float32) Run<float>(tape, e);
        else Run<double>(tape, e);
    }

    private static void Run<T>(Tape tape, in TapeEntry e) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        TensorData x = e.A!, w = e.B!, r = e.C!, h = e.Out, gates = e.S0!, auxData = e.S1!;
        var h0 = tape.ExtraInputs[e.ExtraStart];
        var bias = e.ExtraCount > 1 ? tape.ExtraInputs[e.ExtraStart + 1] : null;
        bool resetAfter = e.I0 != 0, goBackwards = e.I1 != 0;
        int batch = x.Shape[0], steps = x.Shape[1], features = x.Shape[2], units = r.Shape[0], g3 = 3 * units;
        int rows = batch * steps, ldA = steps * g3, ldH = steps * units;

        var dH = tape.GradOf<T>(h);
        ReadOnlySpan<T> a = gates.Span<T>(), aux = auxData.Span<T>(), hs = h.Span<T>(), hInit = h0.Span<T>();
        var dZ = tape.Scratch<T>(rows * g3);              // gradient of the input projection (x·W + b_x)
        var dM = resetAfter ? tape.Scratch<T>(rows * g3) : default;   // reset_after: gradient of m = h·R + b_h
        var dhNext = tape.Scratch<T>(batch * units);
        dhNext.Clear();
        var rt = tape.Scratch<T>(g3 * units);
        Transpose<T>(r.Span<T>(), units, g3, rt);
        var dRh = resetAfter ? default : tape.Scratch<T>(batch * units);

        for (int k = steps - 1; k >= 0; k--)
        {
            int t = TimeOf(k, steps, goBackwards);
            ReadOnlySpan<T> hPrev = k == 0 ? hInit : hs[((k - 1) * units)..];
            int ldPrev = k == 0 ? units : ldH;
            var dzt = dZ[(t * g3)..];
            bool needDh = k > 0 || h0.RequiresGrad;
            if (resetAfter)
            {
                var dmt = dM[(t * g3)..];
                BackwardStepResetAfter<T>(batch, units, dH[(k * units)..], ldH, dhNext, a[(t * g3)..], ldA, aux[(t * units)..], hPrev, ldPrev, dzt, dmt);
                if (needDh) MatMulKernels.Gemm<T>(false, false, batch, units, g3, dmt, ldA, rt, units, dhNext, units, true);
            }
            else
            {
                var at = a[(t * g3)..];
                CandidateBackwardStep<T>(batch, units, dH[(k * units)..], ldH, dhNext, at, ldA, hPrev, ldPrev, dzt);
                // d(r ⊙ h) = dĥ_pre · R_hᵀ
                MatMulKernels.Gemm<T>(false, false, batch, units, units, dzt[(2 * units)..], ldA, rt[(2 * units * units)..], units, dRh, units, false);
                GatesBackwardStep<T>(batch, units, dRh, at, ldA, hPrev, ldPrev, dhNext, dzt);
                if (needDh) MatMulKernels.Gemm<T>(false, false, batch, units, 2 * units, dzt, ldA, rt, units, dhNext, units, true);
            }
        }

        AccumulateInto<T>(tape, h0, dhNext);
        if (w.RequiresGrad)
            MatMulKernels.Gemm<T>(true, false, features, g3, rows, x.Span<T>(), features, dZ, g3, tape.Grad<T>(w), g3, true);
        if (r.RequiresGrad)
        {
            var gr = tape.Grad<T>(r);
            var hPrevAll = tape.Scratch<T>(rows * units);
            BuildPreviousStates<T>(hs, hInit, batch, steps, units, goBackwards, hPrevAll);
            if (resetAfter) MatMulKernels.Gemm<T>(true, false, units, g3, rows, hPrevAll, units, dM, g3, gr, g3, true);
            else
            {
                MatMulKernels.Gemm<T>(true, false, units, 2 * units, rows, hPrevAll, units, dZ, g3, gr, g3, true);
                MatMulKernels.Gemm<T>(true, false, units, units, rows, aux, units, dZ[(2 * units)..], g3, gr[(2 * units)..], g3, true);
            }
        }
        if (bias is not null && bias.RequiresGrad)
        {
            var gb = tape.Grad<T>(bias);
            AddColumnSums<T>(dZ, rows, g3, g3, gb[..g3]);
            if (resetAfter) AddColumnSums<T>(dM, rows, g3, g3, gb[g3..]);
        }
        if (x.RequiresGrad)
            MatMulKernels.Gemm<T>(false, true, rows, features, g3, dZ, g3, w.Span<T>(), g3, tape.Grad<T>(x), features, true);
    }

    // ---------------------------------------------------------------- reset_after = true kernels

    /// <summary>
    /// m (rows × 3U, contiguous) = h·R; in place on a: [x_z, x_r, x_h] → [z, r, ĥ]; mh = m_h + b_h; h' = z ⊙ h + (1 − z) ⊙ ĥ.
    /// </summary>
    private static void ForwardStepResetAfter<T>(int rows, int u, Span<T> a, int lda, ReadOnlySpan<T> m, ReadOnlySpan<T> bh,
        ReadOnlySpan<T> hPrev, int ldPrev, Span<T> mh, Span<T> h, int ldh) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            var (j8, j4) = SplitFloat(u);
            ref float pa = ref R<T, float>(a);
            ref float pm = ref R<T, float>(m);
            ref float pb = ref R<T, float>(bh);
            ref float pp = ref R<T, float>(hPrev);
            ref float pmh = ref R<T, float>(mh);
            ref float ph = ref R<T, float>(h);
            FwdRA<float, F8>(rows, u, ref pa, lda, ref pm, ref pb, ref pp, ldPrev, ref pmh, ref ph, ldh, 0, j8);
            FwdRA<float, F4>(rows, u, ref pa, lda, ref pm, ref pb, ref pp, ldPrev, ref pmh, ref ph, ldh, j8, j4);
            FwdRA<float, F1>(rows, u, ref pa, lda, ref pm, ref pb, ref pp, ldPrev, ref pmh, ref ph, ldh, j4, u);
        }
        else
        {
            FwdRA<double, D1>(rows, u, ref R<T, double>(a), lda, ref R<T, double>(m), ref R<T, double>(bh), ref R<T, double>(hPrev), ldPrev,
                ref R<T, double>(mh), ref R<T, double>(h), ldh, 0, u);
        }
    }

    private static void FwdRA<T, V>(int rows, int u, ref T a, int lda, ref T m, ref T bh, ref T hPrev, int ldPrev, ref T mh, ref T h, int ldh, int j0, int j1)
        where T : unmanaged where V : struct, ILane<V, T>
    {
        for (int b = 0; b < rows; b++)
        {
            ref T ar = ref Unsafe.Add(ref a, (nint)b * lda);
            ref T mr = ref Unsafe.Add(ref m, (nint)b * 3 * u);
            ref T pr = ref Unsafe.Add(ref hPrev, (nint)b * ldPrev);
            ref T mhr = ref Unsafe.Add(ref mh, (nint)b * ldh);
            ref T hr = ref Unsafe.Add(ref h, (nint)b * ldh);
            for (int j = j0; j < j1; j += V.Count)
            {
                nint jr = j + u, jh = j + 2 * u;
                var z = V.Sigmoid(V.Load(ref ar, j) + (V.Load(ref mr, j) + V.Load(ref bh, j)));
                var r = V.Sigmoid(V.Load(ref ar, jr) + (V.Load(ref mr, jr) + V.Load(ref bh, jr)));
                var mhv = V.Load(ref mr, jh) + V.Load(ref bh, jh);
                var hh = V.Tanh(V.Load(ref ar, jh) + r * mhv);
                var hp = V.Load(ref pr, j);
                V.Store(z, ref ar, j);
                V.Store(r, ref ar, jr);
                V.Store(hh, ref ar, jh);
                V.Store(mhv, ref mhr, j);
                V.Store(z * hp + (V.One - z) * hh, ref hr, j);
            }
        }
    }

    /// <summary>
    /// dh = dH + dhNext; dz_pre = dh ⊙ (h − ĥ) ⊙ z(1−z); dĥ_pre = dh ⊙ (1 − z) ⊙ (1 − ĥ²); dr_pre = dĥ_pre ⊙ m_h ⊙ r(1−r);
    /// dZ = [dz_pre, dr_pre, dĥ_pre], dM = [dz_pre, dr_pre, dĥ_pre ⊙ r]; dhNext = dh ⊙ z (the caller adds dM·Rᵀ).
    /// </summary>
    private static void BackwardStepResetAfter<T>(int rows, int u, ReadOnlySpan<T> dH, int ldh, Span<T> dhNext, ReadOnlySpan<T> a, int lda,
        ReadOnlySpan<T> mh, ReadOnlySpan<T> hPrev, int ldPrev, Span<T> dz, Span<T> dm) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            var (j8, j4) = SplitFloat(u);
            ref float pdH = ref R<T, float>(dH);
            ref float pdn = ref R<T, float>(dhNext);
            ref float pa = ref R<T, float>(a);
            ref float pmh = ref R<T, float>(mh);
            ref float pp = ref R<T, float>(hPrev);
            ref float pdz = ref R<T, float>(dz);
            ref float pdm = ref R<T, float>(dm);
            BwdRA<float, F8>(rows, u, ref pdH, ldh, ref pdn, ref pa, lda, ref pmh, ref pp, ldPrev, ref pdz, ref pdm, 0, j8);
            BwdRA<float, F4>(rows, u, ref pdH, ldh, ref pdn, ref pa, lda, ref pmh, ref pp, ldPrev, ref pdz, ref pdm, j8, j4);
            BwdRA<float, F1>(rows, u, ref pdH, ldh, ref pdn, ref pa, lda, ref pmh, ref pp, ldPrev, ref pdz, ref pdm, j4, u);
        }
        else
        {
            BwdRA<double, D1>(rows, u, ref R<T, double>(dH), ldh, ref R<T, double>(dhNext), ref R<T, double>(a), lda, ref R<T, double>(mh),
                ref R<T, double>(hPrev), ldPrev, ref R<T, double>(dz), ref R<T, double>(dm), 0, u);
        }
    }

    private static void BwdRA<T, V>(int rows, int u, ref T dH, int ldh, ref T dhNext, ref T a, int lda, ref T mh, ref T hPrev, int ldPrev,
        ref T dz, ref T dm, int j0, int j1)
        where T : unmanaged where V : struct, ILane<V, T>
    {
        for (int b = 0; b < rows; b++)
        {
            ref T dHr = ref Unsafe.Add(ref dH, (nint)b * ldh);
            ref T dnr = ref Unsafe.Add(ref dhNext, (nint)b * u);
            ref T ar = ref Unsafe.Add(ref a, (nint)b * lda);
            ref T mhr = ref Unsafe.Add(ref mh, (nint)b * ldh);
            ref T pr = ref Unsafe.Add(ref hPrev, (nint)b * ldPrev);
            ref T dzr = ref Unsafe.Add(ref dz, (nint)b * lda);
            ref T dmr = ref Unsafe.Add(ref dm, (nint)b * lda);
            for (int j = j0; j < j1; j += V.Count)
            {
                nint jr = j + u, jh = j + 2 * u;
                var dh = V.Load(ref dHr, j) + V.Load(ref dnr, j);
                var z = V.Load(ref ar, j);
                var r = V.Load(ref ar, jr);
                var hh = V.Load(ref ar, jh);
                var dzp = dh * (V.Load(ref pr, j) - hh) * z * (V.One - z);
                var dhp = dh * (V.One - z) * (V.One - hh * hh);
                var drp = dhp * V.Load(ref mhr, j) * r * (V.One - r);
                V.Store(dzp, ref dzr, j);
                V.Store(drp, ref dzr, jr);
                V.Store(dhp, ref dzr, jh);
                V.Store(dzp, ref dmr, j);
                V.Store(drp, ref dmr, jr);
                V.Store(dhp * r, ref dmr, jh);
                V.Store(dh * z, ref dnr, j);
            }
        }
    }

    // ---------------------------------------------------------------- reset_after = false kernels

    /// <summary>In place on a: [x_z + h·R_z, x_r + h·R_r] → [z, r]; rh = r ⊙ h.</summary>
    private static void GatesStep<T>(int rows, int u, Span<T> a, int lda, ReadOnlySpan<T> hPrev, int ldPrev, Span<T> rh, int ldrh) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            var (j8, j4) = SplitFloat(u);
            ref float pa = ref R<T, float>(a);
            ref float pp = ref R<T, float>(hPrev);
            ref float prh = ref R<T, float>(rh);
            Gates<float, F8>(rows, u, ref pa, lda, ref pp, ldPrev, ref prh, ldrh, 0, j8);
            Gates<float, F4>(rows, u, ref pa, lda, ref pp, ldPrev, ref prh, ldrh, j8, j4);
            Gates<float, F1>(rows, u, ref pa, lda, ref pp, ldPrev, ref prh, ldrh, j4, u);
        }
        else Gates<double, D1>(rows, u, ref R<T, double>(a), lda, ref R<T, double>(hPrev), ldPrev, ref R<T, double>(rh), ldrh, 0, u);
    }

    private static void Gates<T, V>(int rows, int u, ref T a, int lda, ref T hPrev, int ldPrev, ref T rh, int ldrh, int j0, int j1)
        where T : unmanaged where V : struct, ILane<V, T>
    {
        for (int b = 0; b < rows; b++)
        {
            ref T ar = ref Unsafe.Add(ref a, (nint)b * lda);
            ref T pr = ref Unsafe.Add(ref hPrev, (nint)b * ldPrev);
            ref T rhr = ref Unsafe.Add(ref rh, (nint)b * ldrh);
            for (int j = j0; j < j1; j += V.Count)
            {
                nint jr = j + u;
                var z = V.Sigmoid(V.Load(ref ar, j));
                var r = V.Sigmoid(V.Load(ref ar, jr));
                V.Store(z, ref ar, j);
                V.Store(r, ref ar, jr);
                V.Store(r * V.Load(ref pr, j), ref rhr, j);
            }
        }
    }

    /// <summary>In place on a: x_h + (r ⊙ h)·R_h → ĥ = tanh(·); h' = z ⊙ h + (1 − z) ⊙ ĥ.</summary>
    private static void CandidateStep<T>(int rows, int u, Span<T> a, int lda, ReadOnlySpan<T> hPrev, int ldPrev, Span<T> h, int ldh) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            var (j8, j4) = SplitFloat(u);
            ref float pa = ref R<T, float>(a);
            ref float pp = ref R<T, float>(hPrev);
            ref float ph = ref R<T, float>(h);
            Candidate<float, F8>(rows, u, ref pa, lda, ref pp, ldPrev, ref ph, ldh, 0, j8);
            Candidate<float, F4>(rows, u, ref pa, lda, ref pp, ldPrev, ref ph, ldh, j8, j4);
            Candidate<float, F1>(rows, u, ref pa, lda, ref pp, ldPrev, ref ph, ldh, j4, u);
        }
        else Candidate<double, D1>(rows, u, ref R<T, double>(a), lda, ref R<T, double>(hPrev), ldPrev, ref R<T, double>(h), ldh, 0, u);
    }

    private static void Candidate<T, V>(int rows, int u, ref T a, int lda, ref T hPrev, int ldPrev, ref T h, int ldh, int j0, int j1)
        where T : unmanaged where V : struct, ILane<V, T>
    {
        for (int b = 0; b < rows; b++)
        {
            ref T ar = ref Unsafe.Add(ref a, (nint)b * lda);
            ref T pr = ref Unsafe.Add(ref hPrev, (nint)b * ldPrev);
            ref T hr = ref Unsafe.Add(ref h, (nint)b * ldh);
            for (int j = j0; j < j1; j += V.Count)
            {
                nint jh = j + 2 * u;
                var z = V.Load(ref ar, j);
                var hh = V.Tanh(V.Load(ref ar, jh));
                V.Store(hh, ref ar, jh);
                V.Store(z * V.Load(ref pr, j) + (V.One - z) * hh, ref hr, j);
            }
        }
    }

    /// <summary>
    /// dh = dH + dhNext; dZ_z = dh ⊙ (h − ĥ) ⊙ z(1−z); dZ_h = dh ⊙ (1 − z) ⊙ (1 − ĥ²); dhNext = dh ⊙ z.
    /// </summary>
    private static void CandidateBackwardStep<T>(int rows, int u, ReadOnlySpan<T> dH, int ldh, Span<T> dhNext, ReadOnlySpan<T> a, int lda,
        ReadOnlySpan<T> hPrev, int ldPrev, Span<T> dz) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            var (j8, j4) = SplitFloat(u);
            ref float pdH = ref R<T, float>(dH);
            ref float pdn = ref R<T, float>(dhNext);
            ref float pa = ref R<T, float>(a);
            ref float pp = ref R<T, float>(hPrev);
            ref float pdz = ref R<T, float>(dz);
            CandidateBwd<float, F8>(rows, u, ref pdH, ldh, ref pdn, ref pa, lda, ref pp, ldPrev, ref pdz, 0, j8);
            CandidateBwd<float, F4>(rows, u, ref pdH, ldh, ref pdn, ref pa, lda, ref pp, ldPrev, ref pdz, j8, j4);
            CandidateBwd<float, F1>(rows, u, ref pdH, ldh, ref pdn, ref pa, lda, ref pp, ldPrev, ref pdz, j4, u);
        }
        else
        {
            CandidateBwd<double, D1>(rows, u, ref R<T, double>(dH), ldh, ref R<T, double>(dhNext), ref R<T, double>(a), lda,
                ref R<T, double>(hPrev), ldPrev, ref R<T, double>(dz), 0, u);
        }
    }

    private static void CandidateBwd<T, V>(int rows, int u, ref T dH, int ldh, ref T dhNext, ref T a, int lda, ref T hPrev, int ldPrev, ref T dz, int j0, int j1)
        where T : unmanaged where V : struct, ILane<V, T>
    {
        for (int b = 0; b < rows; b++)
        {
            ref T dHr = ref Unsafe.Add(ref dH, (nint)b * ldh);
            ref T dnr = ref Unsafe.Add(ref dhNext, (nint)b * u);
            ref T ar = ref Unsafe.Add(ref a, (nint)b * lda);
            ref T pr = ref Unsafe.Add(ref hPrev, (nint)b * ldPrev);
            ref T dzr = ref Unsafe.Add(ref dz, (nint)b * lda);
            for (int j = j0; j < j1; j += V.Count)
            {
                nint jh = j + 2 * u;
                var dh = V.Load(ref dHr, j) + V.Load(ref dnr, j);
                var z = V.Load(ref ar, j);
                var hh = V.Load(ref ar, jh);
                V.Store(dh * (V.Load(ref pr, j) - hh) * z * (V.One - z), ref dzr, j);
                V.Store(dh * (V.One - z) * (V.One - hh * hh), ref dzr, jh);
                V.Store(dh * z, ref dnr, j);
            }
        }
    }

    /// <summary>Given d(r ⊙ h) (rows × U, contiguous): dZ_r = d(rh) ⊙ h ⊙ r(1−r); dhNext += d(rh) ⊙ r.</summary>
    private static void GatesBackwardStep<T>(int rows, int u, ReadOnlySpan<T> dRh, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> hPrev, int ldPrev,
        Span<T> dhNext, Span<T> dz) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            var (j8, j4) = SplitFloat(u);
            ref float prh = ref R<T, float>(dRh);
            ref float pa = ref R<T, float>(a);
            ref float pp = ref R<T, float>(hPrev);
            ref float pdn = ref R<T, float>(dhNext);
            ref float pdz = ref R<T, float>(dz);
            GatesBwd<float, F8>(rows, u, ref prh, ref pa, lda, ref pp, ldPrev, ref pdn, ref pdz, 0, j8);
            GatesBwd<float, F4>(rows, u, ref prh, ref pa, lda, ref pp, ldPrev, ref pdn, ref pdz, j8, j4);
            GatesBwd<float, F1>(rows, u, ref prh, ref pa, lda, ref pp, ldPrev, ref pdn, ref pdz, j4, u);
        }
        else
        {
            GatesBwd<double, D1>(rows, u, ref R<T, double>(dRh), ref R<T, double>(a), lda, ref R<T, double>(hPrev), ldPrev,
                ref R<T, double>(dhNext), ref R<T, double>(dz), 0, u);
        }
    }

    private static void GatesBwd<T, V>(int rows, int u, ref T dRh, ref T a, int lda, ref T hPrev, int ldPrev, ref T dhNext, ref T dz, int j0, int j1)
        where T : unmanaged where V : struct, ILane<V, T>
    {
        for (int b = 0; b < rows; b++)
        {
            ref T drr = ref Unsafe.Add(ref dRh, (nint)b * u);
            ref T ar = ref Unsafe.Add(ref a, (nint)b * lda);
            ref T pr = ref Unsafe.Add(ref hPrev, (nint)b * ldPrev);
            ref T dnr = ref Unsafe.Add(ref dhNext, (nint)b * u);
            ref T dzr = ref Unsafe.Add(ref dz, (nint)b * lda);
            for (int j = j0; j < j1; j += V.Count)
            {
                nint jr = j + u;
                var drh = V.Load(ref drr, j);
                var r = V.Load(ref ar, jr);
                V.Store(drh * V.Load(ref pr, j) * r * (V.One - r), ref dzr, jr);
                V.Store(V.Load(ref dnr, j) + drh * r, ref dnr, j);
            }
        }
    }
}
