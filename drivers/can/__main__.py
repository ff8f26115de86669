from carnel.drivers.can.service import main

main()
