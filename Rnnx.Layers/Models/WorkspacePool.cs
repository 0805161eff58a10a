namespace Rnnx.Models;

/// <summary>
/// A small lock-free pool of reusable objects: each slot holds at most one idle object, taken and given back with one
/// interlocked exchange, so concurrent callers never wait on each other. Renting from an empty pool returns null (the
/// caller creates a new object); giving back to a full pool drops the object.
/// </summary>
internal sealed class WorkspacePool<T> where T : class
{
    private readonly T?[] _slots;

    /// <param name="capacity">How many idle objects are kept (the peak number of concurrent callers worth keeping warm).</param>
    public WorkspacePool(int capacity) => _slots = new T?[Math.Max(1, capacity)];

    /// <summary>An idle object, or null when every slot is empty.</summary>
    public T? Rent()
    {
        for (int i = 0; i < _slots.Length; i++)
        {
            if (Volatile.Read(ref _slots[i]) is null) continue;
            var item = Interlocked.Exchange(ref _slots[i], null);
            if (item is not null) return item;
        }
        return null;
    }

    /// <summary>Gives <paramref name="item"/> back for reuse (dropped when the pool is full).</summary>
    public void Return(T item)
    {
        for (int i = 0; i < _slots.Length; i++)
            if (Volatile.Read(ref _slots[i]) is null && Interlocked.CompareExchange(ref _slots[i], item, null) is null) return;
    }

    /// <summary>Empties the pool (the idle objects become garbage).</summary>
    public void Clear()
    {
        for (int i = 0; i < _slots.Length; i++) Volatile.Write(ref _slots[i], null);
    }
}
