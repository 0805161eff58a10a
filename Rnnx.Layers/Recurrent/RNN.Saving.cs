using Rnnx.Saving;

namespace Rnnx.Layers;

public partial class RNN
{
    /// <summary>The generic layer saves its cell; SimpleRNN, LSTM and GRU save their cell's arguments flat, as Keras does.</summary>
    public override LayerConfig GetConfig() => WithRecurrentFlags(new LayerConfig().Set("cell", Cell));

    /// <summary>Adds return_sequences, return_state and go_backwards (after the cell's keys, Keras's order).</summary>
    private protected LayerConfig WithRecurrentFlags(LayerConfig config) =>
        config.Set("return_sequences", ReturnSequences).Set("return_state", ReturnState).Set("go_backwards", GoBackwards);

    internal static RNN FromConfig(LayerConfig c) => new(c.GetLayer<RecurrentCell>("cell"), c.GetBool("return_sequences", false),
        c.GetBool("return_state", false), c.GetBool("go_backwards", false), c.InputShape, c.Name);
}
