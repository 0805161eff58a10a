using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Rnnx;

/// <summary>
/// The storage behind a <see cref="Tensor"/> handle: dtype, shape, a slice of a float or double array,
/// and the bookkeeping the tape needs. Tape-owned instances are pooled and recycled when the tape is
/// reset; <see cref="Generation"/> changes on every recycle so stale handles are detected.
/// </summary>
internal sealed class TensorData
{
    public DType DType;
    public Shape Shape;
    public int Length;
    public float[]? F;
    public double[]? D;
    public int Offset;
    public int Generation;
    public bool RequiresGrad;
    /// <summary>Made by <see cref="Tensor.StepMask"/> or <see cref="Tensor.SequenceMask"/>: every value is 0 or 1 (<see cref="Tensor.IsStepMask"/>).</summary>
    public bool IsStepMask;
    /// <summary>The tape that created this tensor and recycles it, or null for a leaf (parameter, user data).</summary>
    public Tape? Owner;

    // Gradient slot, used when Owner is the tape running backward (leaves keep theirs in the tape's map).
    public float[]? GradF;
    public double[]? GradD;
    public int GradOffset;
    public int GradStamp;

    public static TensorData Allocate(Shape shape, DType dtype, bool requiresGrad)
    {
        var t = new TensorData { DType = dtype, Shape = shape, Length = shape.Size, RequiresGrad = requiresGrad };
        if (dtype == DType.Float32) t.F = new float[t.Length];
        else t.D = new double[t.Length];
        return t;
    }

    /// <summary>A float32 leaf over the caller's array, without a copy (for read-only uses such as inference inputs).</summary>
    internal static TensorData Wrap(float[] values, Shape shape)
    {
        Debug.Assert(values.Length == shape.Size);
        return new TensorData { DType = DType.Float32, Shape = shape, Length = values.Length, F = values };
    }

    internal static TensorData Wrap(double[] values, Shape shape)
    {
        Debug.Assert(values.Length == shape.Size);
        return new TensorData { DType = DType.Float64, Shape = shape, Length = values.Length, D = values };
    }

    /// <summary>Like <see cref="Allocate"/> without zeroing large buffers, for results every element of which is written.</summary>
    internal static TensorData AllocateUninitialized(Shape shape, DType dtype)
    {
        var t = new TensorData { DType = dtype, Shape = shape, Length = shape.Size };
        if (dtype == DType.Float32) t.F = GC.AllocateUninitializedArray<float>(t.Length);
        else t.D = GC.AllocateUninitializedArray<double>(t.Length);
        return t;
    }

    public static bool IsSupported<T>() => typeof(T) == typeof(float) || typeof(T) == typeof(double);

    public static DType DTypeOf<T>() =>
        typeof(T) == typeof(float) ? DType.Float32
        : typeof(T) == typeof(double) ? DType.Float64
        : throw new NotSupportedException($"Element type {typeof(T).Name} is not supported; use float or double.");

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<T> Span<T>()
    {
        if (typeof(T) == typeof(float))
        {
            Check(DType.Float32);
            return MemoryMarshal.CreateSpan(ref Unsafe.As<float, T>(ref MemoryMarshal.GetArrayDataReference(F!)), F!.Length).Slice(Offset, Length);
        }
        if (typeof(T) == typeof(double))
        {
            Check(DType.Float64);
            return MemoryMarshal.CreateSpan(ref Unsafe.As<double, T>(ref MemoryMarshal.GetArrayDataReference(D!)), D!.Length).Slice(Offset, Length);
        }
        throw new NotSupportedException(typeof(T).Name);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Check(DType expected)
    {
        if (DType != expected) ThrowDType(expected);
    }

    private void ThrowDType(DType expected) =>
        throw new InvalidOperationException($"Tensor of shape {Shape} holds {DType}, not {expected}.");
}

/// <summary>
/// A chunked bump allocator for tape buffers. Allocation order is the same every training step, so after
/// the first step every request is served from chunks that already exist and nothing is allocated.
/// Offsets are aligned to 64 bytes. A step that outgrows the chunks adds one (doubling, so that a growing first step
/// allocates a few times only); the next <see cref="Reset"/> then replaces all chunks by one of the largest step's
/// size, so the pool holds what a step uses instead of up to twice that.
/// </summary>
internal sealed class Arena<T> where T : unmanaged
{
    private readonly List<T[]> _chunks = [];
    private int _chunk;
    private int _pos;
    private long _rented;
    /// <summary>End of the last buffer of this step as if all chunks were one (the same 64-byte alignment from 0).</summary>
    private long _footprint;
    /// <summary>The largest <see cref="_footprint"/> of any step so far.</summary>
    private long _largestStep;
    private const int MinChunk = 1 << 16;
    private static readonly int Align = 64 / Unsafe.SizeOf<T>();

    public long Capacity
    {
        get
        {
            long c = 0;
            foreach (var ch in _chunks) c += ch.Length;
            return c;
        }
    }

    /// <summary>Elements handed out since the last <see cref="Reset"/> (the buffers in use: nothing is returned before it).</summary>
    public long Rented => _rented;

    public T[] Rent(int length, out int offset)
    {
        _rented += length;
        _footprint = (_footprint + Align - 1) / Align * Align + length;
        while (_chunk < _chunks.Count)
        {
            var ch = _chunks[_chunk];
            int start = (_pos + Align - 1) / Align * Align;
            if (start + length <= ch.Length)
            {
                _pos = start + length;
                offset = start;
                return ch;
            }
            _chunk++;
            _pos = 0;
        }
        int size = Math.Max(MinChunk, length);
        if (_chunks.Count > 0) size = Math.Max(size, _chunks[^1].Length * 2);
        var chunk = GC.AllocateUninitializedArray<T>(size, pinned: false);
        _chunks.Add(chunk);
        _chunk = _chunks.Count - 1;
        _pos = length;
        offset = 0;
        return chunk;
    }

    public void Reset()
    {
        _largestStep = Math.Max(_largestStep, _footprint);
        if (_chunks.Count > 1 && _largestStep <= Array.MaxLength)
        {
            _chunks.Clear();
            _chunks.Add(GC.AllocateUninitializedArray<T>((int)_largestStep, pinned: false));
        }
        _chunk = 0;
        _pos = 0;
        _rented = 0;
        _footprint = 0;
    }
}
