using System.Buffers;
using System.Numerics;
using Rnnx.Kernels;

namespace Rnnx.Autodiff.Ops;

/// <summary>Tape plumbing shared by the fused recurrent sequence ops (recording, scratch memory, gradient accumulation).</summary>
internal static class RecurrentOpSupport
{
    /// <summary>Whether the op must be recorded: the tape records and any input requires a gradient.</summary>
    public static Tape? Recorder(TensorData a, TensorData b, TensorData c, TensorData? d, TensorData e, TensorData? f)
    {
        var tape = Tape.RecordingTape();
        if (tape is null) return null;
        bool any = a.RequiresGrad || b.RequiresGrad || c.RequiresGrad || (d?.RequiresGrad ?? false) || e.RequiresGrad || (f?.RequiresGrad ?? false);
        return any ? tape : null;
    }

    /// <summary>
    /// LSTM inference (nothing recorded) on at least this many series runs time-major: with the (batch, time) row layout
    /// a step's gate rows are T·4U values apart, so a large batch spreads every step over megabytes and thousands of
    /// pages (1000 series x 50 steps x 80 gates is 16 MB); time-major, a step is one contiguous block. Same numbers.
    /// </summary>
    public const int TimeMajorMinBatch = 64;

    /// <summary>
    /// Scratch memory for a fused op: from the active tape (recycled by Reset) or, with no tape, from one
    /// <see cref="ArrayPool{T}"/> rental returned by <see cref="Dispose"/>.
    /// </summary>
    public ref struct Scratch<T> where T : unmanaged
    {
        private readonly Tape? _tape;
        private T[]? _rented;
        private int _pos;

        public Scratch(Tape? tape, int capacityWithoutTape)
        {
            _tape = tape;
            _rented = tape is null ? ArrayPool<T>.Shared.Rent(Math.Max(capacityWithoutTape, 1)) : null;
            _pos = 0;
        }

        /// <summary>A buffer of <paramref name="length"/> elements, not zeroed.</summary>
        public Span<T> Get(int length)
        {
            if (_tape is not null) return _tape.Scratch<T>(length);
            var s = _rented.AsSpan(_pos, length);
            _pos += length;
            return s;
        }

        /// <summary>A zeroed buffer.</summary>
        public Span<T> Zeroed(int length)
        {
            var s = Get(length);
            s.Clear();
            return s;
        }

        /// <summary>A buffer saved for backward (a tape tensor) when <paramref name="saved"/> is set, else scratch.</summary>
        public Span<T> Saved(Tape? recorder, Shape shape, DType dtype, out TensorData? saved)
        {
            if (recorder is not null)
            {
                saved = recorder.NewData(shape, dtype);
                return saved.Span<T>();
            }
            saved = null;
            return Get(shape.Size);
        }

        public void Dispose()
        {
            if (_rented is not null) ArrayPool<T>.Shared.Return(_rented);
            _rented = null;
        }
    }

    /// <summary>Adds <paramref name="src"/> into the gradient of <paramref name="input"/> when it requires one.</summary>
    public static void AccumulateInto<T>(Tape tape, TensorData input, ReadOnlySpan<T> src) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (input.RequiresGrad) Elementwise.AddInPlace(tape.Grad<T>(input), src);
    }
}

/// <summary>Backward steps every masked (packed) sequence op shares.</summary>
internal static class MaskedSequenceSupport
{
    /// <summary>
    /// The gradient of a final state (B, 1, U) buffer, when used downstream (through <see cref="SequenceLastStepOp"/>),
    /// copied into <paramref name="dst"/> as the starting state gradient; zeros otherwise.
    /// </summary>
    public static void StartStateGradient<T>(Tape tape, TensorData finalState, Span<T> dst) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (tape.HasGrad(finalState)) tape.GradOf<T>(finalState).CopyTo(dst);
        else dst.Clear();
    }

    /// <summary>
    /// The input-side gradients from the packed pre-activation gradient dZ (n × g): gW += X_pᵀ·dZ (the packed inputs
    /// gathered again) and gx[b, t] += (dZ·Wᵀ) rows, masked steps getting nothing.
    /// </summary>
    public static void InputGradients<T>(Tape tape, TensorData x, TensorData w, ReadOnlySpan<T> dZ, int n, int g,
        ReadOnlySpan<int> rows, ReadOnlySpan<int> offsets, bool goBackwards) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int steps = x.Shape[1], features = x.Shape[2];
        if (n == 0) return;
        var packed = tape.Scratch<T>(n * features);
        if (w.RequiresGrad)
        {
            PackedStepKernels.GatherSteps<T>(x.Span<T>(), steps, features, rows, offsets, goBackwards, packed);
            MatMulKernels.Gemm<T>(true, false, features, g, n, packed, features, dZ, g, tape.Grad<T>(w), g, true);
        }
        if (x.RequiresGrad)
        {
            MatMulKernels.Gemm<T>(false, true, n, features, g, dZ, g, w.Span<T>(), g, packed, features, false);
            PackedStepKernels.ScatterAddSteps<T>(packed, steps, features, rows, offsets, goBackwards, tape.Grad<T>(x));
        }
    }
}
