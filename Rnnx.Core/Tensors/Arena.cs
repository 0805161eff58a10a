namespace Rnnx;

/// <summary>
/// The tape's pool for one element type: buffers handed out in one address space of elements, 64-byte aligned, and
/// given back before the step ends when the tape knows they are dead (a gradient its consumer has read, an op's
/// scratch). A request takes the first free range that fits, else the top of the space, so a step's layout depends
/// only on its sequence of requests and releases: the same every training step. The space is backed by one array once
/// a step has run; a step that reaches beyond it gets extra segments, and the next <see cref="Reset"/> replaces them
/// all by one array of the highest address any step reached, so later steps allocate nothing.
/// </summary>
internal sealed class Arena<T> where T : unmanaged
{
    private static readonly int Align = Rnnx.Kernels.AlignedArrays.Slack<T>();
    private const int MinSegment = 1 << 16;

    /// <summary>
    /// Backing arrays, each serving the addresses [Start, Start + Length) from element Bias on: pinned, and Bias chosen
    /// so that element Bias sits on a 64-byte boundary, which makes the space's 64-byte alignment real (an array's data
    /// starts wherever the GC put the object, 8 bytes aligned, and a movable array can change that at a compaction).
    /// </summary>
    private readonly List<(long Start, T[] Array, int Bias, long Length)> _segments = [];
    /// <summary>Free ranges below <see cref="_top"/>: sorted, disjoint and never adjacent.</summary>
    private readonly List<(long Start, long End)> _free = [];
    private long _top, _stepTop, _largestTop;
    private long _inUse, _peak;

    /// <summary>Usable elements of the backing arrays (without each array's alignment slack).</summary>
    public long Capacity
    {
        get
        {
            long c = 0;
            foreach (var s in _segments) c += s.Length;
            return c;
        }
    }

    /// <summary>Elements of the buffers handed out and not yet given back.</summary>
    public long InUse => _inUse;

    /// <summary>The largest <see cref="InUse"/> since the last <see cref="Reset"/>.</summary>
    public long Peak => _peak;

    private static long AlignUp(long x) => (x + Align - 1) / Align * Align;

    /// <summary>
    /// A buffer of <paramref name="length"/> elements (not zeroed) at <paramref name="offset"/> of the returned array;
    /// <paramref name="slot"/> identifies it for <see cref="Release"/>.
    /// </summary>
    public T[] Rent(int length, out int offset, out long slot)
    {
        if (length > Array.MaxLength - Align)
            throw new InvalidOperationException($"A tape buffer of {length} elements is larger than an array can hold after 64-byte alignment ({Array.MaxLength - Align}).");
        _inUse += length;
        if (_inUse > _peak) _peak = _inUse;
        long at = -1;
        slot = 0;
        for (int i = 0; i < _free.Count; i++)
        {
            var (s, e) = _free[i];
            long a = AlignUp(s);
            if (a + length > e) continue;
            slot = s;
            at = a;
            if (a + length == e) _free.RemoveAt(i);
            else _free[i] = (a + length, e);
            break;
        }
        if (at < 0)
        {
            slot = _top;
            at = AlignUp(_top);
            _top = at + length;
            if (_top > _stepTop) _stepTop = _top;
        }
        for (int i = _segments.Count - 1; i >= 0; i--)
        {
            var (start, array, bias, extent) = _segments[i];
            if (at >= start && at + length <= start + extent)
            {
                offset = (int)(at - start) + bias;
                return array;
            }
        }
        long size = Math.Max(MinSegment, length);
        if (_segments.Count > 0) size = Math.Max(size, 2L * _segments[^1].Length);
        var segment = Segment(at, Math.Min(size, Array.MaxLength - Align));
        _segments.Add(segment);
        offset = segment.Bias;
        return segment.Array;
    }

    /// <summary>A pinned array serving <paramref name="length"/> elements from <paramref name="start"/>, its first one 64-byte aligned.</summary>
    private static (long Start, T[] Array, int Bias, long Length) Segment(long start, long length)
    {
        var array = Rnnx.Kernels.AlignedArrays.Allocate<T>((int)length);
        return (start, array, Rnnx.Kernels.AlignedArrays.Bias(array), length);
    }

    /// <summary>Gives back a buffer of <paramref name="length"/> elements rented at <paramref name="slot"/>; it is reused by later requests.</summary>
    public void Release(long slot, int length)
    {
        _inUse -= length;
        long end = AlignUp(slot) + length;
        if (end == slot) return;
        // The first free range at or after the slot (binary search: a step of many small ops keeps many ranges free).
        int i = 0, hi = _free.Count;
        while (i < hi)
        {
            int mid = (i + hi) >>> 1;
            if (_free[mid].Start < slot) i = mid + 1;
            else hi = mid;
        }
        bool joinsPrevious = i > 0 && _free[i - 1].End == slot;
        bool joinsNext = i < _free.Count && _free[i].Start == end;
        if (joinsPrevious && joinsNext)
        {
            _free[i - 1] = (_free[i - 1].Start, _free[i].End);
            _free.RemoveAt(i);
        }
        else if (joinsPrevious) _free[i - 1] = (_free[i - 1].Start, end);
        else if (joinsNext) _free[i] = (slot, _free[i].End);
        else _free.Insert(i, (slot, end));
        if (_free[^1].End == _top)
        {
            _top = _free[^1].Start;
            _free.RemoveAt(_free.Count - 1);
        }
    }

    /// <summary>Forgets every buffer; after a step that outgrew the backing array, replaces the segments by one array of the largest step's extent.</summary>
    public void Reset()
    {
        _largestTop = Math.Max(_largestTop, _stepTop);
        bool oneArray = _segments.Count == 1 && _segments[0].Start == 0 && _segments[0].Length >= _largestTop;
        if (!oneArray && _largestTop > 0 && _largestTop <= Array.MaxLength - Align)
        {
            _segments.Clear();
            _segments.Add(Segment(0, _largestTop));
        }
        _free.Clear();
        _top = 0;
        _stepTop = 0;
        _inUse = 0;
        _peak = 0;
    }
}
