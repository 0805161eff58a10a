namespace Rnnx.Layers;

/// <summary>
/// Where the rows a stateful recurrent layer sees sit in the model's batch. A model splits a batch into shards that
/// run on several threads; each shard enters its row offset and the whole batch's size here, so a stateful layer reads
/// and writes the states of its own rows only (shards never share a row, and the split never changes a row's state,
/// whatever the thread count). Without a model, a call's rows are the whole batch.
/// </summary>
internal static class StatefulBatch
{
    [ThreadStatic] private static int t_offset;
    [ThreadStatic] private static int t_batchSize;

    /// <summary>Declares, until the scope ends, that the layers called on this thread see rows from <paramref name="offset"/> of a batch of <paramref name="batchSize"/>.</summary>
    public static Scope Enter(int offset, int batchSize)
    {
        var scope = new Scope(t_offset, t_batchSize);
        t_offset = offset;
        t_batchSize = batchSize;
        return scope;
    }

    /// <summary>The row offset and batch size of a call on <paramref name="rows"/> rows.</summary>
    public static (int Offset, int BatchSize) Of(int rows) => t_batchSize == 0 ? (0, rows) : (t_offset, t_batchSize);

    /// <summary>Restores the enclosing rows.</summary>
    public readonly struct Scope(int offset, int batchSize) : IDisposable
    {
        /// <summary>Restores the enclosing rows.</summary>
        public void Dispose()
        {
            t_offset = offset;
            t_batchSize = batchSize;
        }
    }
}
