using System.Numerics;
using System.Runtime.CompilerServices;
using Rnnx.Autodiff;

namespace Rnnx;

/// <summary>
/// Records operations for reverse-mode differentiation and owns the pooled buffers of every tensor created
/// while it is active. One tape per thread; reuse it from one training step to the next with <see cref="Reset"/>.
/// </summary>
/// <example>
/// <code>
/// using var tape = new Tape();
/// using (tape.Activate())
/// {
///     var loss = Tensor.Mean(Tensor.Square(Tensor.MatMul(x, w.Value) - y));
///     Gradients g = tape.Backward(loss);
///     optimizer.Step(parameters, g);
/// }
/// tape.Reset();   // recycle every buffer of the step; nothing is allocated in the next one
/// </code>
/// </example>
public sealed class Tape : IDisposable
{
    [ThreadStatic] private static Tape? t_current;

    private readonly List<TensorData> _pool = [];
    private int _poolUsed;
    private readonly Arena<float> _arenaF = new();
    private readonly Arena<double> _arenaD = new();
    private readonly Arena<int> _arenaI = new();   // integer scratch (token ids, active-row lists of masked sequences)
    /// <summary>Every scratch buffer handed out since the last reset and not yet released, in order (<see cref="ScratchMark"/>).</summary>
    private readonly List<(DType? Kind, long Slot, int Length)> _scratch = [];
    private TapeEntry[] _entries = new TapeEntry[256];
    private int _count;
    internal readonly List<TensorData> ExtraInputs = [];
    private bool _recording = true;
    private int _stamp;
    private readonly Gradients _gradients;
    private bool _backwardDone;
    private bool _backwardRunning;

    /// <summary>Creates an empty tape.</summary>
    public Tape()
    {
        _gradients = new Gradients(this);
    }

    /// <summary>The tape active on this thread, or null.</summary>
    public static Tape? Current => t_current;

    /// <summary>Whether operations are recorded (false inside <see cref="NoGrad"/>).</summary>
    public bool IsRecording => _recording;

    /// <summary>Number of operations recorded since the last <see cref="Reset"/>.</summary>
    public int Count => _count;

    /// <summary>Elements held by the buffer pools (float, double), for diagnostics.</summary>
    public (long Float32, long Float64) PoolCapacity => (_arenaF.Capacity, _arenaD.Capacity);

    /// <summary>
    /// Elements of the pooled buffers in use now (float, double): the results, gradients and scratch of the recorded step
    /// that are still alive. Results live until <see cref="Reset"/>; an op's scratch is given back when the op is done
    /// (in backward, after each op's backward); gradients of intermediates after their producer's backward when
    /// <see cref="ReleaseIntermediateGradients"/> is set.
    /// </summary>
    public (long Float32, long Float64) PoolInUse => (_arenaF.InUse, _arenaD.InUse);

    /// <summary>
    /// The largest <see cref="PoolInUse"/> since the last <see cref="Reset"/> (float, double): after a forward and backward
    /// pass, the step's working set on this tape. <see cref="PoolCapacity"/> is what the pools hold to serve it (the
    /// highest address reached, so the working set plus what the layout could not reuse).
    /// </summary>
    public (long Float32, long Float64) PoolPeak => (_arenaF.Peak, _arenaD.Peak);

    /// <summary>
    /// When set, <see cref="Backward"/> gives back the gradient of each recorded op's output as soon as that op's
    /// backward has consumed it (no later op reads it: the tape runs in reverse order of recording), so the pass keeps
    /// only the gradients still to be consumed. The returned <see cref="Gradients"/> then hold the parameters' and
    /// watched inputs' gradients only; asking for an intermediate's throws. Training steps set it; off by default.
    /// </summary>
    public bool ReleaseIntermediateGradients { get; set; }

    /// <summary>
    /// When set, <see cref="Backward"/> treats an op's output as dead once no recorded op reads it any more (the tape runs
    /// in reverse order of recording, so after the op's own backward, or inside it once it has read the value): the
    /// buffer is given back after that backward, and a convolution with a built-in activation writes act'(y) ⊙ dy over its
    /// output y instead of taking a new buffer. A value the tape knows escapes is never written over or given back: the
    /// output being differentiated, a value with a view (reshape, row range), and a value passed to
    /// <see cref="KeepValue"/>; so is an output made before an op recorded ahead of its own entry (that op's backward,
    /// which runs later, may read it). A value given back is invalid afterwards: its handles throw, as after
    /// <see cref="Reset"/>. Set it only when the caller reads no intermediate value after <see cref="Backward"/> except the
    /// kept ones (training steps read the parameters' gradients only); off by default. The gradients are the same.
    /// </summary>
    public bool ReleaseIntermediateValues { get; set; }

    /// <summary>
    /// Marks <paramref name="value"/> as read after <see cref="Backward"/>, so that <see cref="ReleaseIntermediateValues"/>
    /// never writes over it. Tensors not made on this tape are never written over and need no mark.
    /// </summary>
    /// <exception cref="InvalidOperationException">A recycled or default tensor handle.</exception>
    public void KeepValue(Tensor value) => value.Data.ValueEscapes = true;

    /// <summary>Makes this the active tape of the current thread until the returned scope is disposed.</summary>
    public Scope Activate()
    {
        var prev = t_current;
        t_current = this;
        return new Scope(prev, this, restoreRecording: null);
    }

    /// <summary>
    /// Stops recording until the returned scope is disposed (inference). Tensors are still pooled by the tape
    /// when it is active.
    /// </summary>
    public Scope NoGrad()
    {
        bool prev = _recording;
        _recording = false;
        return new Scope(t_current, null, restoreRecording: prev) { Tape = this };
    }

    /// <summary>Restores the previous active tape or recording state when disposed.</summary>
    public struct Scope : IDisposable
    {
        private readonly Tape? _previous;
        private readonly Tape? _activated;
        private readonly bool? _restoreRecording;
        private bool _disposed;
        internal Tape? Tape;

        internal Scope(Tape? previous, Tape? activated, bool? restoreRecording)
        {
            _previous = previous;
            _activated = activated;
            _restoreRecording = restoreRecording;
            _disposed = false;
            Tape = activated;
        }

        /// <summary>Ends the scope.</summary>
        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            if (_restoreRecording is bool r) Tape!._recording = r;
            else if (_activated is not null && t_current == _activated) t_current = _previous;
        }
    }

    /// <summary>
    /// Recycles every tensor created on this tape (their handles become invalid), returns all buffers to the
    /// pool and forgets the recorded operations. Parameters and tensors created outside the tape are untouched.
    /// </summary>
    public void Reset()
    {
        for (int i = 0; i < _poolUsed; i++)
        {
            var d = _pool[i];
            d.Generation++;
            d.IsStepMask = false;
            d.F = null;
            d.D = null;
            d.GradF = null;
            d.GradD = null;
            d.GradReleased = false;
            d.ValueEscapes = false;
            d.ValueOverwritten = false;
        }
        _poolUsed = 0;
        _scratch.Clear();
        Array.Clear(_entries, 0, _count);
        _count = 0;
        ExtraInputs.Clear();
        _arenaF.Reset();
        _arenaD.Reset();
        _arenaI.Reset();
        _gradients.Invalidate();
        _backwardDone = false;
    }

    /// <summary>Resets the tape and deactivates it if it is the current one.</summary>
    public void Dispose()
    {
        Reset();
        if (t_current == this) t_current = null;
    }

    // ---------------------------------------------------------------- allocation

    internal TensorData NewData(Shape shape, DType dtype)
    {
        TensorData d;
        if (_poolUsed < _pool.Count) d = _pool[_poolUsed];
        else
        {
            d = new TensorData { Owner = this };
            _pool.Add(d);
        }
        _poolUsed++;
        d.DType = dtype;
        d.Shape = shape;
        d.Length = shape.Size;
        d.RequiresGrad = false;
        d.GradStamp = 0;
        d.GradReleased = false;
        d.ValueEscapes = false;
        d.ValueOverwritten = false;
        d.BornAt = _count;
        if (dtype == DType.Float32) d.F = _arenaF.Rent(d.Length, out d.Offset, out d.Slot);
        else d.D = _arenaD.Rent(d.Length, out d.Offset, out d.Slot);
        return d;
    }

    /// <summary>A view sharing <paramref name="source"/>'s buffer with another shape (reshape).</summary>
    internal TensorData NewView(TensorData source, Shape shape) => NewView(source, shape, 0);

    /// <summary>A view of <paramref name="shape"/>.Size elements of <paramref name="source"/>'s buffer starting <paramref name="elementOffset"/> elements in.</summary>
    internal TensorData NewView(TensorData source, Shape shape, int elementOffset)
    {
        TensorData d;
        if (_poolUsed < _pool.Count) d = _pool[_poolUsed];
        else
        {
            d = new TensorData { Owner = this };
            _pool.Add(d);
        }
        _poolUsed++;
        d.DType = source.DType;
        d.Shape = shape;
        d.Length = shape.Size;
        d.RequiresGrad = false;
        d.GradStamp = 0;
        d.GradReleased = false;
        d.ValueEscapes = true;
        d.ValueOverwritten = false;
        // The view shares its buffer: a reader of the view may come after source's producer's backward. Only tapes' values
        // are ever given back (a heap tensor, e.g. a data set viewed by several shards at once, is left alone).
        if (source.Owner is not null) source.ValueEscapes = true;
        d.Slot = -1;
        d.F = source.F;
        d.D = source.D;
        d.Offset = source.Offset + elementOffset;
        return d;
    }

    /// <summary>
    /// Scratch memory from the pool, not zeroed, valid until <see cref="ReleaseScratch"/> of a mark taken before it (an
    /// op's backward: when that backward returns) or else until <see cref="Reset"/>.
    /// </summary>
    internal Span<T> Scratch<T>(int length) where T : unmanaged
    {
        long slot;
        if (typeof(T) == typeof(float))
        {
            var a = _arenaF.Rent(length, out int off, out slot);
            _scratch.Add((DType.Float32, slot, length));
            return Unsafe.As<T[]>(a).AsSpan(off, length);
        }
        if (typeof(T) == typeof(double))
        {
            var a = _arenaD.Rent(length, out int off, out slot);
            _scratch.Add((DType.Float64, slot, length));
            return Unsafe.As<T[]>(a).AsSpan(off, length);
        }
        if (typeof(T) == typeof(int))
        {
            var a = _arenaI.Rent(length, out int off, out slot);
            _scratch.Add((null, slot, length));
            return Unsafe.As<T[]>(a).AsSpan(off, length);
        }
        throw new NotSupportedException(typeof(T).Name);
    }

    /// <summary>A mark for <see cref="ReleaseScratch"/>: the scratch handed out from here on.</summary>
    internal int ScratchMark => _scratch.Count;

    /// <summary>Gives back every scratch buffer handed out since <paramref name="mark"/>; their spans must no longer be used.</summary>
    internal void ReleaseScratch(int mark)
    {
        for (int i = _scratch.Count - 1; i >= mark; i--)
        {
            var (kind, slot, length) = _scratch[i];
            if (kind == DType.Float32) _arenaF.Release(slot, length);
            else if (kind == DType.Float64) _arenaD.Release(slot, length);
            else _arenaI.Release(slot, length);
        }
        if (mark < _scratch.Count) _scratch.RemoveRange(mark, _scratch.Count - mark);
    }

    /// <summary>A result tensor: pooled on the active tape, or a heap tensor when no tape is active.</summary>
    internal static TensorData NewResult(Shape shape, DType dtype)
    {
        var t = t_current;
        return t is null ? TensorData.Allocate(shape, dtype, false) : t.NewData(shape, dtype);
    }

    /// <summary>The active tape if the op must be recorded (recording and an input requires a gradient), else null.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Tape? Recorder(TensorData a, TensorData? b = null, TensorData? c = null)
    {
        var t = t_current;
        if (t is null || !t._recording) return null;
        if (a.RequiresGrad || (b is not null && b.RequiresGrad) || (c is not null && c.RequiresGrad)) return t;
        return null;
    }

    /// <summary>The active tape if recording is on (for ops with a variable number of inputs), else null.</summary>
    internal static Tape? RecordingTape()
    {
        var t = t_current;
        return t is not null && t._recording ? t : null;
    }

    /// <summary>Appends an entry for <paramref name="op"/> producing <paramref name="output"/>, which now requires a gradient.</summary>
    internal ref TapeEntry Record(Op op, TensorData output)
    {
        if (_count == _entries.Length) Array.Resize(ref _entries, _count * 2);
        ref var e = ref _entries[_count++];
        e = default;
        e.Op = op;
        e.Out = output;
        // an entry recorded since the output was made may read it in its backward, which runs after this one's: recorded
        // twice, or made before another op (a saved buffer of an earlier op) — never given back
        if (output.RequiresGrad || output.BornAt != _count - 1) output.ValueEscapes = true;
        output.RequiresGrad = true;
        return ref e;
    }

    // ---------------------------------------------------------------- backward

    /// <summary>
    /// Runs reverse-mode differentiation from <paramref name="output"/> over everything recorded since the last
    /// <see cref="Reset"/>, and returns the gradients of every tensor that requires one (parameters, watched inputs,
    /// intermediates). A tensor used several times accumulates all contributions; broadcast inputs receive the
    /// summed gradient.
    /// </summary>
    /// <param name="output">The value to differentiate, normally a scalar loss.</param>
    /// <param name="seed">d(objective)/d(output), same shape as <paramref name="output"/>; required unless the output has one element (then 1).</param>
    /// <returns>The tape's <see cref="Gradients"/>, valid until the next <see cref="Reset"/>.</returns>
    /// <exception cref="InvalidOperationException">Non-scalar output without a seed, an output that does not depend on anything requiring a gradient, a second Backward on the same recording, or an op with no backward.</exception>
    public Gradients Backward(Tensor output, Tensor? seed = null)
    {
        var o = output.Data;
        if (_backwardDone)
            throw new InvalidOperationException("Backward: this tape has already been differentiated; call Reset() and record the step again.");
        if (seed is null && o.Length != 1)
            throw new InvalidOperationException($"Backward: the output has shape {o.Shape}; pass a seed gradient of that shape for a non-scalar output.");
        if (!o.RequiresGrad)
            throw new InvalidOperationException("Backward: the output does not depend on any tensor that requires a gradient (was the tape active and recording when it was computed?).");
        _backwardDone = true;
        o.ValueEscapes = true;
        _stamp++;
        _gradients.Begin(_stamp);
        if (o.DType == DType.Float32) SeedGrad<float>(o, seed);
        else SeedGrad<double>(o, seed);

        _backwardRunning = true;
        try
        {
            for (int i = _count - 1; i >= 0; i--)
            {
                ref readonly var e = ref _entries[i];
                if (!HasGrad(e.Out)) continue;
                int mark = ScratchMark;
                e.Op.Backward(this, in e);
                ReleaseScratch(mark);
                if (ReleaseIntermediateGradients) ReleaseGrad(e.Out);
                if (ReleaseIntermediateValues) ReleaseValue(e.Out);
            }
        }
        finally { _backwardRunning = false; }
        return _gradients;
    }

    private void SeedGrad<T>(TensorData o, Tensor? seed) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var g = Grad<T>(o);
        if (seed is Tensor s)
        {
            var sd = s.Data;
            if (sd.Shape != o.Shape)
                throw new ShapeMismatchException($"Backward: seed gradient shape {sd.Shape} differs from output shape {o.Shape}.", nameof(seed));
            if (sd.DType != o.DType)
                throw new ArgumentException($"Backward: seed dtype {sd.DType} differs from output dtype {o.DType}.", nameof(seed));
            sd.Span<T>().CopyTo(g);
        }
        else g.Fill(T.One);
    }

    internal int Stamp => _stamp;

    /// <summary>
    /// Called by an op's backward once it has read its output's gradient for the last time, before it asks for its inputs'
    /// gradients: with <see cref="ReleaseIntermediateGradients"/> the buffer is given back now, so an input's gradient
    /// can take its place, instead of after the op.
    /// </summary>
    internal void ReleaseOutputGradient(in TapeEntry e)
    {
        if (ReleaseIntermediateGradients) ReleaseGrad(e.Out);
    }

    /// <summary>
    /// For an op whose input's gradient is its output's gradient unchanged (a reshape): when the output's gradient would be
    /// released after the op (<see cref="ReleaseIntermediateGradients"/>) and the input has none yet, the buffer becomes
    /// the input's instead of being added into a new zeroed one, so the two never exist together. The values are those
    /// of that addition: 0 + g, i.e. g with −0 turned into +0.
    /// </summary>
    /// <returns>False when the gradient must be accumulated as usual.</returns>
    internal bool TryHandOffGradient<T>(TensorData output, TensorData input) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (!ReleaseIntermediateGradients || !input.RequiresGrad || input.Owner != this || output.Owner != this
            || input.Length != output.Length || input.DType != output.DType || HasGrad(input) || !HasGrad(output))
            return false;
        input.GradF = output.GradF;
        input.GradD = output.GradD;
        input.GradOffset = output.GradOffset;
        input.GradSlot = output.GradSlot;
        input.GradStamp = _stamp;
        output.GradF = null;
        output.GradD = null;
        output.GradReleased = true;
        var g = GradSpan<T>(input);
        System.Numerics.Tensors.TensorPrimitives.Add<T>(g, T.Zero, g);
        return true;
    }

    /// <summary>
    /// Called by the op that produced <paramref name="output"/>, in its backward, once it has read the value for the last
    /// time except through the buffer it is about to write: true when it may write a gradient over the value
    /// (<see cref="ReleaseIntermediateValues"/>, the value is this tape's own buffer and does not escape). The value's
    /// handles are then invalid (its generation moves on, as at <see cref="Reset"/>).
    /// </summary>
    internal bool TryTakeOutputBuffer(TensorData output)
    {
        if (!ReleaseIntermediateValues || output.Owner != this || output.Slot < 0 || output.ValueEscapes || !_backwardRunning) return false;
        output.Generation++;
        output.ValueOverwritten = true;
        return true;
    }

    /// <summary>
    /// Gives back the value buffer of <paramref name="t"/>, an op's output whose backward (its last reader) has run, unless
    /// it escapes; its handles become invalid.
    /// </summary>
    private void ReleaseValue(TensorData t)
    {
        if (t.Owner != this || t.Slot < 0 || t.ValueEscapes) return;
        if (!t.ValueOverwritten) t.Generation++;
        t.ValueOverwritten = true;
        if (t.F is not null) _arenaF.Release(t.Slot, t.Length);
        else _arenaD.Release(t.Slot, t.Length);
        t.Slot = -1;
    }

    /// <summary>Gives back the gradient buffer of <paramref name="t"/>, an op's output whose backward has run.</summary>
    private void ReleaseGrad(TensorData t)
    {
        if (t.Owner != this || t.GradStamp != _stamp) return;
        if (t.GradF is not null) _arenaF.Release(t.GradSlot, t.Length);
        else if (t.GradD is not null) _arenaD.Release(t.GradSlot, t.Length);
        else return;
        t.GradF = null;
        t.GradD = null;
        t.GradReleased = true;
    }

    /// <summary>True if <paramref name="t"/> has received a gradient in the current backward pass.</summary>
    internal bool HasGrad(TensorData t)
    {
        if (t.Owner == this) return t.GradStamp == _stamp && (t.GradF is not null || t.GradD is not null);
        return _gradients.HasLeaf(t);
    }

    /// <summary>The gradient buffer of <paramref name="t"/> for this pass, created zeroed on first use.</summary>
    internal Span<T> Grad<T>(TensorData t) where T : unmanaged
    {
        if (t.Owner != this) return _gradients.Leaf<T>(t);
        if (t.GradStamp != _stamp || (t.GradF is null && t.GradD is null))
        {
            var s = RentGrad<T>(t);
            s.Clear();
            return s;
        }
        return GradSpan<T>(t);
    }

    /// <summary>
    /// The gradient buffer of <paramref name="t"/> for an op that writes all of it: on first use a new buffer that is
    /// not zeroed (<paramref name="fresh"/> set: the caller must write every element, with the bits adding into zeros
    /// would give), else as <see cref="Grad{T}"/> (the caller adds into it).
    /// </summary>
    internal Span<T> GradToWrite<T>(TensorData t, out bool fresh) where T : unmanaged
    {
        fresh = t.Owner == this && (t.GradStamp != _stamp || (t.GradF is null && t.GradD is null));
        return fresh ? RentGrad<T>(t) : Grad<T>(t);
    }

    /// <summary>A new gradient buffer for <paramref name="t"/> in this pass (contents undefined).</summary>
    private Span<T> RentGrad<T>(TensorData t) where T : unmanaged
    {
        t.GradStamp = _stamp;
        if (typeof(T) == typeof(float)) t.GradF = _arenaF.Rent(t.Length, out t.GradOffset, out t.GradSlot);
        else t.GradD = _arenaD.Rent(t.Length, out t.GradOffset, out t.GradSlot);
        return GradSpan<T>(t);
    }

    /// <summary>The gradient of <paramref name="t"/>, which must exist (the output of the entry being differentiated).</summary>
    internal ReadOnlySpan<T> GradOf<T>(TensorData t) where T : unmanaged => Grad<T>(t);

    private static Span<T> GradSpan<T>(TensorData t) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return Unsafe.As<T[]>(t.GradF!).AsSpan(t.GradOffset, t.Length);
        return Unsafe.As<T[]>(t.GradD!).AsSpan(t.GradOffset, t.Length);
    }

    /// <summary>
    /// Adds <paramref name="g"/>, a gradient of shape <paramref name="gShape"/> (the broadcast shape), into the
    /// gradient of <paramref name="input"/>, summing over broadcast axes. The one place un-broadcasting happens.
    /// Does nothing when the input does not require a gradient.
    /// </summary>
    internal void AccumulateGrad<T>(TensorData input, ReadOnlySpan<T> g, Shape gShape) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (!input.RequiresGrad) return;
        var dst = Grad<T>(input);
        if (input.Shape.Size == gShape.Size)
        {
            Kernels.Elementwise.AddInPlace(dst, g);
            return;
        }
        Kernels.Broadcasting.SumTo(g, gShape.Dimensions, dst, input.Shape.Dimensions);
    }
}
