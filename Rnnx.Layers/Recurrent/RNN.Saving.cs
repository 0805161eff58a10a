using Rnnx.Saving;

namespace Rnnx.Layers;

public partial class RNN
{
    /// <summary>The generic layer saves its cell; SimpleRNN, LSTM and GRU save their cell's arguments flat, as Keras does.</summary>
    public override LayerConfig GetConfig() => WithRecurrentFlags(new LayerConfig().Set("cell", Cell));

    /// <summary>
    /// Adds return_sequences, return_state, go_backwards and stateful (after the cell's keys, Keras's order), and the
    /// declared batch size when there is one (Keras keeps it in batch_input_shape; here input_shape has no batch axis).
    /// </summary>
    private protected LayerConfig WithRecurrentFlags(LayerConfig config)
    {
        config.Set("return_sequences", ReturnSequences).Set("return_state", ReturnState).Set("go_backwards", GoBackwards).Set("stateful", Stateful);
        return _declaredBatchSize is int b ? config.Set("batch_size", b) : config;
    }

    /// <summary>The saved batch size, or null; a non-positive one is refused by the constructor.</summary>
    private protected static int? BatchSizeOf(LayerConfig c) => c.Contains("batch_size") ? c.GetInt("batch_size") : null;

    internal static RNN FromConfig(LayerConfig c) => new(c.GetLayer<RecurrentCell>("cell"), c.GetBool("return_sequences", false),
        c.GetBool("return_state", false), c.GetBool("go_backwards", false), c.InputShape, c.Name, c.GetBool("stateful", false), BatchSizeOf(c));
}
